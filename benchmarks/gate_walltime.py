"""Where the gate's wall time goes, measured in one run.

    .venv/bin/python benchmarks/gate_walltime.py [--profile ci] [--workers auto] [--skip-gate]

Prints:
1. the fixed costs a worker pays: importing TensorFlow and Keras, constructing and building
   each layer, its first ``tf.function`` call (tracing) and first XLA call (compiling),
   against a warm eager call;
2. collection: ``pytest --collect-only -q properties`` (one process, TF import included);
3. the gate: ``pytest -n WORKERS properties`` in the profile, its wall time, and the time per
   property file and per property (summed over its parametrizations), from pytest's
   ``--durations``, with the examples each ran (the profile's count, or the scaled one).

Figures are from one machine at one moment: compare ratios within a run, not across runs.
"""

import argparse
import collections
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fixed_costs():
    code = r"""
import time, os, json
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
t0 = time.perf_counter(); import tensorflow as tf; import keras; t_import = time.perf_counter() - t0
import numpy as np
from layercheck import registry
from layercheck.adapters import KerasAdapter
rows = []
for spec in registry.specs():
    # The first float32 edge sample: its constructor arguments and its first call's shape.
    example = next(sample.example for sample in spec.samples() if sample.dtype == "float32")
    factory = spec.load_factory()
    shape = tuple(example.call_inputs[0].shape)
    x = tf.ones(shape)
    name = spec.name
    t0 = time.perf_counter(); layer = factory(*example.args, **example.kwargs); layer.build(shape); t_build = time.perf_counter() - t0
    layer(x)
    t0 = time.perf_counter()
    for _ in range(20): layer(x)
    t_eager = (time.perf_counter() - t0) / 20
    f = tf.function(lambda v: layer(v))
    t0 = time.perf_counter(); f(x); t_trace = time.perf_counter() - t0
    g = tf.function(lambda v: layer(v), jit_compile=True)
    t0 = time.perf_counter(); g(x); t_xla = time.perf_counter() - t0
    rows.append((name, t_build, t_eager, t_trace, t_xla))
print(json.dumps({"import": t_import, "rows": rows}))
"""
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    import json

    return json.loads(output.stdout.strip().splitlines()[-1])


def collection_time():
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "properties"],
        capture_output=True, text=True, cwd=ROOT,
    )
    elapsed = time.perf_counter() - start
    items = [line for line in result.stdout.splitlines() if "::" in line]
    return elapsed, items


def gate(profile, workers):
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", workers, "properties", "-q", "-p", "no:cacheprovider",
         f"--hypothesis-profile={profile}", "--durations=0"],
        capture_output=True, text=True, cwd=ROOT,
    )
    elapsed = time.perf_counter() - start
    durations = []
    for line in result.stdout.splitlines():
        match = re.match(r"^([0-9.]+)s (call|setup|teardown)\s+(\S+)", line)
        if match:
            durations.append((float(match.group(1)), match.group(2), match.group(3)))
    summary = [line for line in result.stdout.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    return elapsed, durations, summary[-1] if summary else "(no summary)", result.returncode


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="ci")
    parser.add_argument("--workers", default="auto")
    parser.add_argument("--skip-gate", action="store_true", help="only the fixed costs and collection")
    args = parser.parse_args()

    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    costs = fixed_costs()
    print(f"\n1. fixed costs (one process)\n   import tensorflow + keras: {costs['import']:.2f} s")
    print(f"   {'layer':<24}{'construct+build':>16}{'eager call':>12}{'1st tf.function':>17}{'1st XLA':>10}{'trace/eager':>13}")
    for name, build, eager, trace, xla in costs["rows"]:
        print(f"   {name:<24}{build * 1e3:>14.1f}ms{eager * 1e3:>10.2f}ms{trace * 1e3:>15.1f}ms{xla * 1e3:>8.0f}ms{trace / eager:>12.0f}x")

    elapsed, items = collection_time()
    print(f"\n2. collection: {len(items)} property tests collected in {elapsed:.1f} s (one process, TF import included)")

    if args.skip_gate:
        return
    elapsed, durations, summary, code = gate(args.profile, args.workers)
    print(f"\n3. gate: pytest -n {args.workers} properties --hypothesis-profile={args.profile}")
    print(f"   wall time {elapsed:.1f} s; {summary}; exit code {code}")
    per_file = collections.Counter()
    per_property = collections.Counter()
    for seconds, _, node in durations:
        path, _, name = node.partition("::")
        per_file[path] += seconds
        per_property[f"{path.split('/')[-1]}::{name.split('[')[0]}"] += seconds
    total = sum(per_file.values())
    print(f"   test time summed over workers: {total:.1f} s (wall x workers includes start-up and idle)")
    for path, seconds in per_file.most_common():
        print(f"   {seconds:8.1f} s {100 * seconds / total:5.1f}%  {path}")
    print("   slowest properties (all parametrizations):")
    for prop, seconds in per_property.most_common(12):
        print(f"   {seconds:8.1f} s  {prop}")


if __name__ == "__main__":
    main()
