"""What a gradient-property example costs, against one forward+backward call (not a test).

For each layer, at input sizes 16 and 1024 (elements of one call's inputs), measured in one run
on the same float64 layer and inputs:

* fwd+bwd: one ``adapter.gradients`` call (eager), the unit of the table;
* directional: one example of the directional property (``check_directional_derivative``:
  a fresh float64 layer, then per argument one tape and 4 forward evaluations);
* compute_gradient: ``tf.test.compute_gradient`` for the inputs alone (a tape per output
  element and 2 forward calls per input element).

The directional check's cost does not grow with the input size; compute_gradient's grows with
it. Run: ``python benchmarks/gradient_cost.py`` (``--repeats N`` for the median of N runs).
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np
import tensorflow as tf

from layercheck import cases, gradients
from layercheck.adapters import LAYER_NAMES, KerasAdapter

SIZES = (16, 1024)


def example_of(layer, size, seed=0):
    """A fixed example whose single call has ``size`` input elements."""
    rng = np.random.default_rng(seed)
    if layer == "temperature_softmax":
        inputs = rng.standard_normal((4, size // 4)).astype(np.float32)
        return cases.Example(layer, (size // 4,), {"initial_temperature": 0.5}, inputs, {}, seed)
    if layer == "nonnegative_projection":
        basis = rng.uniform(-4.0, 4.0, (8, 8)).astype(np.float32)
        inputs = rng.uniform(-3.0, 3.0, (size // 8, 8)).astype(np.float32)
        weights = {"projection_weights": rng.uniform(-2.0, 2.0, (8, 8)).astype(np.float32)}
        return cases.Example(layer, (basis.tolist(),), {}, inputs, weights, seed)
    inputs = rng.uniform(-1.0, 1.0, (1, size // 8, 8)).astype(np.float32)
    weights = {
        "kernel": rng.uniform(-0.3, 0.3, (8, 8)).astype(np.float32),
        "recurrent_kernel": rng.uniform(-0.3, 0.3, (8, 8)).astype(np.float32),
    }
    return cases.Example(layer, (8,), {}, inputs, weights, seed)


def median_seconds(function, repeats, warm_up=3):
    for _ in range(warm_up):  # first-call overheads (kernel selection, Keras build paths)
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(layer, size, repeats):
    adapter = KerasAdapter(layer)
    example = example_of(layer, size)
    built = cases.make_layer(adapter, example, "float64")
    x = np.asarray(example.call_inputs[0], dtype=np.float64)
    out_shape = adapter.call(built, x).shape
    v = np.random.default_rng(1).standard_normal(out_shape)

    def forward_backward():
        adapter.gradients(built, x, v, "eager")

    def directional():
        gradients.check_directional_derivative(adapter, example, seed=2)

    def compute_gradient():
        if layer == "memory_cell":  # one call from a fixed state, as the property replays it
            def f(inputs):
                adapter.assign(built, "state", np.zeros(out_shape))
                return adapter.call_tensor(built, inputs)
        else:
            def f(inputs):
                return adapter.call_tensor(built, inputs)

        tf.test.compute_gradient(f, [tf.constant(x)])

    unit = median_seconds(forward_backward, max(10 * repeats, 50))
    return {
        "fwd+bwd": unit,
        "directional": median_seconds(directional, repeats),
        "compute_gradient": median_seconds(compute_gradient, 1 if size > 64 else repeats, warm_up=0 if size > 64 else 1),
        "outputs": int(np.prod(out_shape)),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--layers", default=",".join(LAYER_NAMES))
    args = parser.parse_args(argv)
    print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPUs; median of {args.repeats} runs "
          "(compute_gradient at 1024: one run); float64 layers, eager\n")
    header = (f"{'layer':<24}{'size':>6}{'fwd+bwd ms':>12}{'directional ms':>16}{'= x fwd+bwd':>13}"
              f"{'compute_gradient ms':>21}{'= x fwd+bwd':>13}")
    print(header)
    print("-" * len(header))
    for layer in args.layers.split(","):
        for size in SIZES:
            m = measure(layer, size, args.repeats)
            unit = m["fwd+bwd"]
            print(
                f"{layer:<24}{size:>6}{unit * 1e3:>12.2f}{m['directional'] * 1e3:>16.1f}{m['directional'] / unit:>13.1f}"
                f"{m['compute_gradient'] * 1e3:>21.1f}{m['compute_gradient'] / unit:>13.1f}",
                flush=True,
            )
    print(
        "\ndirectional: per differentiable argument, one tape and 4 forward calls (+ building a fresh "
        "float64 layer): constant in the input size.\ncompute_gradient (inputs only): one tape per "
        "output element and 2 forward calls per input element: linear in the size."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
