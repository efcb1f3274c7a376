"""Run one pytest command and print its wall time and its outcome counts.

    .venv/bin/python benchmarks/pytest_walltime.py [--env NAME=VALUE ...] -- PYTEST-ARGS...

Prints the command, the machine (cores), the wall time, pytest's summary counts (passed,
failed, skipped, xfailed, errors) and every failing test; ``--log`` (or
``LAYERCHECK_WALLTIME_LOG``) keeps pytest's whole output; exits with pytest's exit code. The figures of the README's
"whole suite" and "PyTorch port" blocks come from here (through ``benchmarks/readme_figures.py``).
"""

import argparse
import os
import re
import shlex
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_COUNT = re.compile(r"(\d+) (passed|failed|skipped|xfailed|xpassed|errors?|deselected)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="set for the run")
    parser.add_argument("--log", default=os.environ.get("LAYERCHECK_WALLTIME_LOG"), help="also write pytest's whole output here")
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: pytest's arguments")
    args = parser.parse_args(argv)
    pytest_args = args.pytest_args[1:] if args.pytest_args[:1] == ["--"] else args.pytest_args
    env = dict(os.environ)
    for pair in args.env:
        name, sep, value = pair.partition("=")
        if not sep:
            parser.error(f"--env takes NAME=VALUE, got {pair!r}")
        env[name] = value
    shown = " ".join([*args.env, "pytest", *map(shlex.quote, pytest_args)])
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *pytest_args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    lines = result.stdout.strip().splitlines()
    summary = lines[-1] if lines else ""
    counts = ", ".join(f"{number} {word}" for number, word in _COUNT.findall(summary)) or "no summary line"
    print(f"command: {shown}")
    print(f"machine: {os.cpu_count()} cores")
    print(f"wall time: {elapsed:.0f} s ({elapsed / 60:.1f} min)")
    print(f"outcome: {counts}; exit code {result.returncode}")
    for line in lines:
        if line.startswith(("FAILED ", "ERROR ")):
            print(f"  {line[:300]}")
    if args.log:
        with open(args.log, "w", encoding="utf-8") as handle:
            handle.write(result.stdout + result.stderr)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
