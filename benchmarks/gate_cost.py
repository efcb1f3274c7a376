"""What one Hypothesis example of the gate costs, against what the layer itself costs.

    .venv/bin/python benchmarks/gate_cost.py [--profile ci] [--skip-gate] [--rss-examples 500,5000]

Prints, from one run on this machine (run it with nothing else running):

1. per layer, the layer's own eager forward+backward (a ``GradientTape`` over one call) on its
   first float32 edge sample's shape, median of 50;
2. where an example's time goes, per layer: a fresh layer's construction and build, the first
   ``tf.function`` call (tracing), the first XLA call (compiling), the float64 NumPy reference,
   and Hypothesis's own generation of the layer's examples (a ``@given`` whose body does
   nothing);
3. the gate, ``pytest properties`` in the profile, with ``-n 0`` and with ``-n 2``: wall time,
   CPU time (all processes), examples run (the verification matrix), CPU milliseconds per
   example and its ratio to the layers' mean forward+backward, and the speed-up of ``-n 2``;
   then per property and layer (from the ``-n 0`` run's JUnit XML: each test's time and
   examples), milliseconds per example and the ratio to that layer's forward+backward;
4. the resident memory of one process running the forward property's body (construct, build,
   assign, call in a drawn mode, compare) on each layer, after the first and the last count
   of ``--rss-examples`` examples, all in one Hypothesis test as the gate runs them.
"""

import argparse
import collections
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_LAYER_COSTS = r"""
import json, os, statistics, time
from layercheck import environment
environment.prepare(); environment.start_tensorflow()
import numpy as np, tensorflow as tf
from hypothesis import given, settings, HealthCheck
from layercheck import cases, registry
from layercheck.adapters import KerasAdapter

def median_time(function, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter(); function(); times.append(time.perf_counter() - start)
    return statistics.median(times)

rows = {}
for spec in registry.specs():
    example = next(sample.example for sample in spec.samples() if sample.dtype == "float32")
    factory = spec.load_factory()
    x = tf.constant(np.asarray(example.call_inputs[0], dtype=np.float32))
    layer = factory(*example.args, **example.kwargs); layer.build(tuple(x.shape))
    def forward_backward():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
        return tape.gradient(y, [x, *layer.trainable_variables])
    forward_backward()
    fwd_bwd = median_time(forward_backward, 50)
    def construct():
        fresh = factory(*example.args, **example.kwargs); fresh.build(tuple(x.shape))
    construct_build = median_time(construct, 10)
    def first_call(jit):
        fresh = factory(*example.args, **example.kwargs); fresh.build(tuple(x.shape))
        function = tf.function(lambda v: fresh(v), jit_compile=jit)
        start = time.perf_counter(); function(x); return time.perf_counter() - start
    trace = statistics.median(first_call(False) for _ in range(5))
    compile_ = statistics.median(first_call(True) for _ in range(3))
    drawn = []
    @settings(max_examples=200, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(example=spec.examples())
    def generate(example):
        drawn.append(example)
    start = time.perf_counter(); generate(); generation = (time.perf_counter() - start) / max(len(drawn), 1)
    start = time.perf_counter()
    for item in drawn:
        cases.reference_outputs(item, "float32")
    reference = (time.perf_counter() - start) / max(len(drawn), 1)
    rows[spec.name] = {"shape": list(x.shape), "fwd_bwd": fwd_bwd, "construct_build": construct_build,
                       "trace": trace, "compile": compile_, "reference": reference, "generation": generation}
print(json.dumps(rows))
"""

_RSS = r"""
import json, sys
from layercheck import environment
environment.prepare(); environment.start_tensorflow()
import keras
from hypothesis import given, settings, HealthCheck, strategies as st
from layercheck import adapters, cases, registry

checkpoints = [int(value) for value in sys.argv[1].split(",")]
def rss_mb():
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
results = {}
for spec in registry.specs():
    adapter = adapters.KerasAdapter(spec.name)
    seen = {"count": 0, "rss": {}}
    @settings(max_examples=checkpoints[-1], database=None, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(example=spec.examples(), mode=st.sampled_from(["eager", "function"]))
    def body(example, mode):
        cases.run(adapter, example, mode)
        cases.reference_outputs(example, "float32")
        seen["count"] += 1
        if seen["count"] in checkpoints:
            seen["rss"][seen["count"]] = rss_mb()
    body()
    keras.backend.clear_session()
    results[spec.name] = seen["rss"]
print(json.dumps(results))
"""


def _json_of(code, *args):
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, check=False)
    if result.returncode != 0:
        raise SystemExit(f"benchmark step failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def gate(profile, workers, scratch):
    junit = os.path.join(scratch, f"junit-{workers}.xml")
    matrix = os.path.join(scratch, f"matrix-{workers}.json")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "properties", "-n", str(workers), "-q", "-p", "no:cacheprovider",
         f"--hypothesis-profile={profile}", f"--junitxml={junit}", f"--layercheck-matrix-json={matrix}"],
        capture_output=True, text=True, cwd=ROOT, check=False, env={k: v for k, v in os.environ.items() if k != "CI"},
    )  # fmt: skip
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with open(matrix, encoding="utf-8") as handle:
        examples = sum(cell.get("examples", 0) for cell in json.load(handle)["cells"])
    lines = result.stdout.strip().splitlines()
    return {"wall": wall, "cpu": cpu, "examples": examples, "summary": lines[-1] if lines else "", "junit": junit}


def per_property(junit):
    """(property, layer) -> [seconds, examples] from the JUnit XML's test cases."""
    table = collections.defaultdict(lambda: [0.0, 0])
    for case in ElementTree.parse(junit).iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        layers, prop, examples = props.get("layercheck_layers"), props.get("layercheck_property"), props.get("layercheck_examples")
        if not layers or not examples:
            continue
        for layer in layers.split(","):
            table[(prop, layer)][0] += float(case.get("time", 0.0)) / len(layers.split(","))
            table[(prop, layer)][1] += int(examples)
    return table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="ci")
    parser.add_argument("--skip-gate", action="store_true", help="only the layers' costs and the memory")
    parser.add_argument("--rss-examples", default="500,5000", help="the example counts at which to read RSS")
    args = parser.parse_args(argv)
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; profile {args.profile}", flush=True)

    costs = _json_of(_LAYER_COSTS)
    print("\n1-2. per layer (ms): the layer's eager fwd+bwd, and what an example pays around it")
    print(f"   {'layer':<24}{'shape':>10}{'fwd+bwd':>9}{'build':>8}{'trace':>8}{'XLA':>8}{'reference':>11}{'generation':>12}")
    for name, row in costs.items():
        print(
            f"   {name:<24}{'x'.join(map(str, row['shape'])):>10}{row['fwd_bwd'] * 1e3:>9.2f}{row['construct_build'] * 1e3:>8.1f}"
            f"{row['trace'] * 1e3:>8.1f}{row['compile'] * 1e3:>8.0f}{row['reference'] * 1e3:>11.3f}{row['generation'] * 1e3:>12.2f}",
            flush=True,
        )
    mean_fwd_bwd = statistics.mean(row["fwd_bwd"] for row in costs.values())

    if not args.skip_gate:
        with tempfile.TemporaryDirectory() as scratch:
            runs = {workers: gate(args.profile, workers, scratch) for workers in (0, 2)}
            print(f"\n3. the gate, pytest properties --hypothesis-profile={args.profile}")
            for workers, run in runs.items():
                per_example = run["cpu"] / max(run["examples"], 1)
                print(
                    f"   -n {workers}: wall {run['wall']:.0f} s, CPU {run['cpu']:.0f} s, {run['examples']} examples: "
                    f"{per_example * 1e3:.0f} ms CPU per example = {per_example / mean_fwd_bwd:.0f}x the layers' mean "
                    f"fwd+bwd ({mean_fwd_bwd * 1e3:.2f} ms); {run['summary']}",
                    flush=True,
                )
            print(f"   speed-up of -n 2 over -n 0: {runs[0]['wall'] / runs[2]['wall']:.2f}x")
            print("   per property and layer (-n 0; test time / examples, x the layer's fwd+bwd):")
            table = per_property(runs[0]["junit"])
            for (prop, layer), (seconds, examples) in sorted(table.items(), key=lambda item: -item[1][0]):
                per = seconds / max(examples, 1)
                ratio = per / costs[layer]["fwd_bwd"] if layer in costs else float("nan")
                print(f"   {seconds:7.1f} s {examples:6d} ex {per * 1e3:8.1f} ms {ratio:7.0f}x  {layer} :: {prop}")

    rss = _json_of(_RSS, args.rss_examples)
    counts = [int(value) for value in args.rss_examples.split(",")]
    print(f"\n4. resident memory of one process (MB) after {' and '.join(map(str, counts))} examples of the forward body")
    for name, readings in rss.items():
        values = [readings.get(str(count)) for count in counts]
        growth = values[-1] - values[0] if None not in values else float("nan")
        print(f"   {name:<24}" + "".join(f"{value:>10.0f}" for value in values) + f"   growth {growth:+.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
