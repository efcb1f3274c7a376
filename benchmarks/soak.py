"""Soak the gate: the production layers through the property suite under many random seeds.

    .venv/bin/python benchmarks/soak.py --profile dev --runs 20
    .venv/bin/python benchmarks/soak.py --profile thorough --runs 3
    .venv/bin/python benchmarks/soak.py --seeds 1234,99 --profile dev     # replay given seeds

Each run is ``pytest -n WORKERS properties --hypothesis-profile=PROFILE --hypothesis-seed=SEED``
(``dev`` and ``thorough`` draw afresh from the seed; ``ci`` is derandomized and would repeat one
run). It prints, per run, the seed, the wall time, the tests and the Hypothesis examples run
(from the verification matrix's JSON) and every failing test with the command that replays it;
at the end, how many runs passed. A false alarm of the gate on a correct layer shows here as a
failure under some seed; the seed replays it. Exit code 0 only when every run passed.
"""

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_COUNT = re.compile(r"(\d+) (passed|failed|skipped|xfailed|xpassed|errors?)")
#: The lines of a failure report worth printing in the soak's own output (the full output of a
#: failing run goes to its log file).
_REPORT = re.compile(r"^E\s+(layercheck\.assertions\.PropertyFailure: |  claim: |  parameters: |\w+Error: )")


def one_run(seed, profile, workers, extra):
    with tempfile.TemporaryDirectory() as scratch:
        matrix_path = os.path.join(scratch, "matrix.json")
        command = [
            sys.executable, "-m", "pytest", "properties", "-n", workers, "-q", "-p", "no:cacheprovider",
            f"--hypothesis-profile={profile}", f"--hypothesis-seed={seed}", f"--layercheck-matrix-json={matrix_path}",
            *extra,
        ]  # fmt: skip
        env = {key: value for key, value in os.environ.items() if key != "CI"}
        start = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
        examples = None
        if os.path.exists(matrix_path):
            with open(matrix_path, encoding="utf-8") as handle:
                examples = sum(cell.get("examples", 0) for cell in json.load(handle).get("cells", []))
    lines = result.stdout.strip().splitlines()
    summary = lines[-1] if lines else ""
    failures = [line.split(" ", 1)[1].split(" - ")[0] for line in lines if line.startswith(("FAILED ", "ERROR "))]
    report = [line[:300] for line in lines if _REPORT.match(line)]
    return result, elapsed, summary, examples, failures, report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="dev", help="dev or thorough (ci is derandomized: one seed only)")
    parser.add_argument("--runs", type=int, default=20, help="how many random seeds")
    parser.add_argument("--seeds", default=None, help="comma-separated seeds to replay instead of random ones")
    parser.add_argument("--workers", default="auto", help="pytest -n (default auto)")
    parser.add_argument("--logs", default="soak-logs", help="where a failing run's whole output is written (default ./soak-logs)")
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: more pytest arguments")
    args = parser.parse_args(argv)
    extra = args.pytest_args[1:] if args.pytest_args[:1] == ["--"] else args.pytest_args
    seeds = [int(seed) for seed in args.seeds.split(",")] if args.seeds else [random.SystemRandom().randrange(2**32) for _ in range(args.runs)]
    print(f"soak: {len(seeds)} run(s) of the gate, profile {args.profile}, -n {args.workers}, {os.cpu_count()} cores", flush=True)
    passed = 0
    for index, seed in enumerate(seeds, 1):
        result, elapsed, summary, examples, failures, report = one_run(seed, args.profile, args.workers, extra)
        code = result.returncode
        counts = ", ".join(f"{number} {word}" for number, word in _COUNT.findall(summary)) or summary
        verdict = "pass" if code == 0 else f"FAIL (exit {code})"
        print(f"run {index}/{len(seeds)} seed {seed}: {verdict}; {counts}; {examples} examples; {elapsed:.0f} s", flush=True)
        for failure in failures:
            print(f"    failed: {failure}", flush=True)
            print(f"    replay: pytest '{failure}' -n 0 --hypothesis-profile={args.profile} --hypothesis-seed={seed}", flush=True)
        if code != 0:
            os.makedirs(args.logs, exist_ok=True)
            log = os.path.join(args.logs, f"{args.profile}-{seed}.log")
            with open(log, "w", encoding="utf-8") as handle:
                handle.write(result.stdout + "\n" + result.stderr)
            for line in report:
                print(f"    {line}", flush=True)
            # A failure that needs the tests a worker ran before it does not replay alone.
            print(f"    the whole run: {sys.argv[0]} --seeds {seed} --profile {args.profile} --workers {args.workers}; its output: {log}", flush=True)
        passed += code == 0
    print(f"soak: {passed} of {len(seeds)} run(s) passed (profile {args.profile}; seeds {', '.join(map(str, seeds))})")
    return 0 if passed == len(seeds) else 1


if __name__ == "__main__":
    sys.exit(main())
