"""Mutation score of the property gate over the production layers, with Cosmic Ray.

Cosmic Ray mutates one spot of ``src/layercheck/layers`` at a time (a number, an operator, a
comparison, a boolean, a decorator...), runs a test command, and records the mutant as killed
(the command failed) or survived. The test command is the gate itself, run as CI runs it but
aimed at the mutated layer: ``pytest properties -x --layercheck-layer NAME`` with the ``zoo``
profile (the ``ci`` examples, derandomized, no shrinking) on ``CPU:0``.

Why Cosmic Ray and not mutmut: mutmut forks the test process for each mutant, and
TensorFlow's runtime is not fork-safe once started; Cosmic Ray runs each mutant's test command
as a fresh process.

Cosmic Ray rewrites the source in place, so everything happens in a scratch clone of this
checkout's HEAD (``--workdir``, default ``.mutation/``), never in the working tree. In the
clone the test command finds the mutated file with ``git diff`` and runs the properties of
that file's layer (every layer of the folder for a shared module such as ``_validation.py``);
the specs and the layers' own checks (``*_spec.py``, ``*_checks.py``) are harness and are not
mutated.

Usage::

    python benchmarks/mutation_score.py             # init (if needed), run what is pending, report
    python benchmarks/mutation_score.py --report    # report only
    python benchmarks/mutation_score.py --fresh     # a new clone and session
    python benchmarks/mutation_score.py --update    # the clone to this HEAD, survivors run again
    python benchmarks/mutation_score.py --workers 2 # two mutants at a time, one clone each
    python benchmarks/mutation_score.py --verify-survivors   # each survivor again, alone

``--verify-survivors`` runs every survivor once more in the first clone, one at a time, with
Cosmic Ray's own mutate-and-test, and records that result. A run with ``--workers`` once
recorded a survivor whose mutant breaks the module's import (so its test had not seen the
mutation; the cause was not found): the published figures are verified this way.

``--update`` is for a gate that got stronger while the layers stayed the same (mutations are
recorded by line and column: it refuses when a layer file changed other than by a
``# pragma: no mutate`` comment). Lines marked ``# pragma: no mutate`` are skipped
(``cr-filter-pragma``); the README lists them and why.

Cost: one process per mutant (TensorFlow import and collection, about 7 s), then properties
until the first failure; a survivor runs its layer's whole selection (one to two minutes).
A run over all four files takes about two hours on 2 cores. It is resumable: ``exec`` skips
mutants already done.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = "src/layercheck/layers"
#: Files of the layers folder that are harness, not layers: the specs and the layers' own
#: checks (mutating them tests the harness, not the gate).
HARNESS_FILES = ("*_spec.py", "*_checks.py", "specs.py", "__init__.py")


def layers_of_file(name):
    """The registered layers a layers-folder file implements: the spec whose factory lives in
    it, or every layer of the folder for a shared module (the argument checks)."""
    sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
    from layercheck import registry

    package = "layercheck.layers."
    own = [spec.name for spec in registry.specs() if isinstance(spec.factory, str) and spec.factory.split(":")[0] == package + Path(name).stem]
    if own:
        return own
    return [spec.name for spec in registry.specs() if isinstance(spec.factory, str) and spec.factory.startswith(package)]
#: A mutant whose test command runs longer is recorded as killed by timeout (Cosmic Ray's
#: rule); a whole layer's selection takes under three minutes, so this only ends hangs.
TIMEOUT_S = 900

CONFIG = """\
[cosmic-ray]
module-path = "{target}"
timeout = {timeout}
excluded-modules = {excluded}
test-command = "{python} benchmarks/mutation_score.py --test-mutant"

[cosmic-ray.distributor]
name = "{distributor}"

[cosmic-ray.distributor.http]
worker-urls = {urls}
"""
FIRST_PORT = 9876


def test_mutant():
    """The test command: the gate on the layer of the one file Cosmic Ray changed."""
    changed = subprocess.run(
        ["git", "diff", "--name-only", "--", TARGET], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    layers = sorted({layer for path in changed for layer in layers_of_file(Path(path).name)})
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]))
    command = [
        sys.executable, "-m", "pytest", "properties", "-x", "-q", "--tb=line",
        "-p", "no:xdist", "-p", "no:cacheprovider",
        "--hypothesis-profile=zoo", "--layercheck-devices=CPU:0",
        *[f"--layercheck-layer={layer}" for layer in layers],
    ]  # fmt: skip
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


def prepare(workdir, fresh, workers=1):
    """Clone HEAD into ``workdir`` (once; one clone per worker) and write the session's config."""
    clone = workdir / "clone"
    if fresh and workdir.exists():
        subprocess.run(["rm", "-rf", str(workdir)], check=True)
    if not clone.exists():
        workdir.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    # An interrupted run leaves its mutant applied: start from the clean files.
    subprocess.run(["git", "checkout", "-q", "."], cwd=clone, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True, text=True, check=True)
    for index in range(2, workers + 1):
        other = workdir / f"clone-{index}"
        if other.exists():
            subprocess.run(["git", "checkout", "-q", "."], cwd=other, check=True)
            subprocess.run(["git", "fetch", "-q", str(clone)], cwd=other, check=True)
        else:
            subprocess.run(["git", "clone", "-q", str(clone), str(other)], check=True)
        subprocess.run(["git", "checkout", "-q", head.stdout.strip()], cwd=other, check=True)
    urls = [f"http://localhost:{FIRST_PORT + index}" for index in range(workers)]
    config = workdir / "cosmic-ray.toml"
    config.write_text(
        CONFIG.format(
            target=TARGET,
            excluded=json.dumps([f"{TARGET}/{pattern}" for pattern in HARNESS_FILES]),
            timeout=float(TIMEOUT_S),
            python=sys.executable,
            distributor="http" if workers > 1 else "local",
            urls=json.dumps(urls),
        )
    )
    return clone, config, head.stdout.strip()


def start_workers(workdir, workers):
    """One ``cosmic-ray http-worker`` per clone (each mutates and tests in its own clone)."""
    executable = Path(sys.executable).with_name("cosmic-ray")
    processes = []
    for index in range(workers):
        cwd = workdir / ("clone" if index == 0 else f"clone-{index + 1}")
        log = open(workdir / f"worker-{index + 1}.log", "w")  # noqa: SIM115 - lives as long as the worker
        processes.append(
            subprocess.Popen(
                [str(executable), "http-worker", "--port", str(FIRST_PORT + index)],
                cwd=cwd,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        )
    time.sleep(3)
    for index, process in enumerate(processes):
        if process.poll() is not None:
            for other in processes:
                end_group(other)
            log = (workdir / f"worker-{index + 1}.log").read_text()[-1500:]
            raise SystemExit(f"http worker {index + 1} (port {FIRST_PORT + index}) did not start:\n{log}")
    return processes


def forget_infrastructure_failures(session):
    """Drop results where no test ran (a worker that could not be reached, a crash of Cosmic
    Ray itself): Cosmic Ray records them as ABNORMAL with no test outcome, which its own
    report would count as killed. ``exec`` runs those mutants again."""
    import sqlite3

    with sqlite3.connect(session) as db:
        forgotten = db.execute(
            "DELETE FROM work_results WHERE worker_outcome IN ('ABNORMAL', 'EXCEPTION') AND test_outcome IS NULL"
        ).rowcount
    if forgotten:
        print(f"{forgotten} results without a test run (infrastructure failures) will run again")


def update(workdir, session):
    """Pull HEAD into the clone, mark pragma lines skipped, and forget the survivors' results."""
    import re
    import sqlite3

    clone = workdir / "clone"
    old = subprocess.run(["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run(["git", "checkout", "-q", "."], cwd=clone, check=True)
    subprocess.run(["git", "pull", "-q", str(ROOT), "HEAD"], cwd=clone, check=True)
    diff = subprocess.run(["git", "diff", "-U0", old, "HEAD", "--", TARGET], cwd=clone, capture_output=True, text=True, check=True).stdout
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    strip = re.compile(r"\s*# pragma: no mutate.*$")
    removed = sorted(strip.sub("", line[1:]) for line in changed if line.startswith("-"))
    added = sorted(strip.sub("", line[1:]) for line in changed if line.startswith("+"))
    if removed != added:
        raise SystemExit(f"the layers changed since {old[:10]} (not only pragma comments): run with --fresh")
    filter_pragma = Path(sys.executable).with_name("cr-filter-pragma")
    subprocess.run([str(filter_pragma), str(session)], cwd=clone, check=True)
    with sqlite3.connect(session) as db:
        forgotten = db.execute("DELETE FROM work_results WHERE test_outcome = 'SURVIVED'").rowcount
    print(f"clone at HEAD; {forgotten} survivors will run again against the current gate")


def verify_survivors(workdir, session):
    """Run each survivor again, alone, in the first clone; record the new result."""
    from cosmic_ray.mutating import mutate_and_test
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome

    clone = workdir / "clone"
    test_command = f"{sys.executable} benchmarks/mutation_score.py --test-mutant"
    with use_db(str(session), WorkDB.Mode.open) as db:
        survivors = [item for item, result in db.completed_work_items if result.test_outcome == TestOutcome.SURVIVED]
        print(f"verifying {len(survivors)} survivors one at a time")
        here = os.getcwd()
        os.chdir(clone)
        try:
            for item in survivors:
                result = mutate_and_test(item.mutations, test_command, TIMEOUT_S)
                db.set_result(item.job_id, result)
                mutation = item.mutations[0]
                print(f"  {mutation.module_path}:{mutation.start_pos[0]} {mutation.operator_name}: {result.test_outcome}")
        finally:
            os.chdir(here)


#: Seconds between two progress lines of ``cosmic-ray exec``.
PROGRESS_SECONDS = 25


def cosmic_ray(*args, cwd):
    executable = Path(sys.executable).with_name("cosmic-ray")
    subprocess.run([str(executable), *map(str, args)], cwd=cwd, check=True)


def run_in_own_group(command, *, cwd, session=None, **popen):
    """Run ``command`` in a process group of its own and wait for it; every
    :data:`PROGRESS_SECONDS` print the session's progress. An interrupt, a SIGTERM (``timeout``)
    or an error ends the whole group: the mutant's pytest with it."""
    process = subprocess.Popen(command, cwd=cwd, start_new_session=True, **popen)
    start = time.monotonic()
    done_before = count_done(session) if session is not None else 0
    try:
        while True:
            try:
                return process.wait(timeout=PROGRESS_SECONDS)
            except subprocess.TimeoutExpired:
                if session is not None:
                    print(progress_line(session, time.monotonic() - start, done_before), flush=True)
    finally:
        end_group(process)


def end_group(process):
    """SIGTERM to the process group of ``process``, SIGKILL after 10 s if it lingers."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def count_done(session):
    """Mutants with a result in ``session`` (0 for a session not created yet)."""
    from cosmic_ray.work_db import WorkDB, use_db

    if not Path(session).exists():
        return 0
    with use_db(str(session), WorkDB.Mode.open) as db:
        return db.num_results


def progress_line(session, elapsed, done_before=0):
    """``k of N mutants done (killed, survived), elapsed, this run's rate, estimated time
    left``; ``done_before``: the results the session held when this run started (a resumed
    run's rate counts only its own)."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome

    try:
        with use_db(str(session), WorkDB.Mode.open) as db:
            total = db.num_work_items
            results = [result for _, result in db.completed_work_items]
    except Exception as error:  # noqa: BLE001 - the database is being written: say so, go on
        return f"  ... {elapsed:.0f} s (progress unreadable now: {error})"
    survived = sum(result.test_outcome == TestOutcome.SURVIVED for result in results)
    done = len(results)
    rate = (done - done_before) / elapsed * 60 if elapsed else 0.0
    left = (total - done) / rate if rate else float("inf")
    return (
        f"  ... {done} of {total} mutants done ({done - survived} killed or incompetent, {survived} survived); "
        f"this run {elapsed / 60:.1f} min, {rate:.1f} per min, about {left:.0f} min left at this rate"
    )


def _terminate_on_sigterm():
    """``timeout`` sends SIGTERM: turn it into SystemExit so that the ``finally`` clauses end
    the process groups of cosmic-ray and its workers."""

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def report(session, commit):
    """Score per file and every survivor with its diff."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    per_file = {}
    survivors = []
    pending = 0
    with use_db(str(session), WorkDB.Mode.open) as db:
        done = {item.job_id for item, _ in db.completed_work_items}
        for item, result in db.completed_work_items:
            name = Path(item.mutations[0].module_path).name
            counts = per_file.setdefault(name, {"killed": 0, "survived": 0, "incompetent": 0, "skipped": 0, "error": 0})
            outcome = result.test_outcome
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                counts["skipped"] += 1
            elif outcome is None:
                counts["error"] += 1
            elif outcome == TestOutcome.SURVIVED:
                counts["survived"] += 1
                survivors.append((item, result))
            elif outcome == TestOutcome.INCOMPETENT:
                counts["incompetent"] += 1
            else:
                counts["killed"] += 1
        pending = sum(1 for item in db.work_items if item.job_id not in done)
    print(f"Mutation score of the property gate (Cosmic Ray, {TARGET} at {commit[:10]})")
    print(f"{'file':28} {'mutants':>8} {'killed':>8} {'survived':>9} {'incompetent':>12} {'skipped':>8} {'error':>6} {'score':>7}")
    total = {"killed": 0, "survived": 0, "incompetent": 0, "skipped": 0, "error": 0}
    for name, counts in sorted(per_file.items()):
        for key in total:
            total[key] += counts[key]
        print(_score_row(name, counts))
    print(_score_row("all", total))
    if pending:
        print(f"({pending} mutants not run yet)")
    print(
        "score = killed / (killed + survived); incompetent = the mutant could not be imported or run; "
        "skipped = on a line marked '# pragma: no mutate'; error = no test ran (rerun the script)"
    )
    for item, result in sorted(survivors, key=lambda pair: (str(pair[0].mutations[0].module_path), pair[0].mutations[0].start_pos)):
        mutation = item.mutations[0]
        print(f"\nSURVIVED {mutation.module_path}:{mutation.start_pos[0]} {mutation.operator_name} (job {item.job_id})")
        print(result.diff or "(no diff recorded)")


def _score_row(name, counts):
    mutants = sum(counts.values())
    decided = counts["killed"] + counts["survived"]
    score = f"{100 * counts['killed'] / decided:.1f}%" if decided else "-"
    return f"{name:28} {mutants:8} {counts['killed']:8} {counts['survived']:9} {counts['incompetent']:12} {counts['skipped']:8} {counts['error']:6} {score:>7}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=ROOT / ".mutation", help="scratch clone and session (default .mutation/)")
    parser.add_argument("--fresh", action="store_true", help="start from a new clone of HEAD and a new session")
    parser.add_argument("--report", action="store_true", help="only print the report of the session so far")
    parser.add_argument("--update", action="store_true", help="pull HEAD into the clone and run the survivors again")
    parser.add_argument("--workers", type=int, default=1, help="mutants tested in parallel, one clone each (default 1)")
    parser.add_argument("--verify-survivors", action="store_true", help="run each survivor again, alone, then report")
    parser.add_argument("--test-mutant", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.test_mutant:
        return test_mutant()
    workdir = args.workdir.resolve()
    session = workdir / "session.sqlite"
    if args.update and session.exists() and not args.fresh:
        update(workdir, session)
    clone, config, commit = prepare(workdir, args.fresh, args.workers)
    if args.verify_survivors:
        verify_survivors(workdir, session)
    elif not args.report:
        if not session.exists():
            cosmic_ray("init", config, session, cwd=clone)
            filter_pragma = Path(sys.executable).with_name("cr-filter-pragma")
            subprocess.run([str(filter_pragma), str(session)], cwd=clone, check=True)
        forget_infrastructure_failures(session)
        _terminate_on_sigterm()
        workers = start_workers(workdir, args.workers) if args.workers > 1 else []
        try:
            executable = Path(sys.executable).with_name("cosmic-ray")
            code = run_in_own_group([str(executable), "exec", str(config), str(session)], cwd=clone, session=session)
            if code:
                print(f"cosmic-ray exec exited with {code}", file=sys.stderr)
        finally:
            for worker in workers:
                end_group(worker)
    report(session, commit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
