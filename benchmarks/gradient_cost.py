"""What a gradient-property example costs, against one forward+backward call (not a test).

For each registered layer, at input sizes 16 and 1024 (elements of one call's inputs: its first
edge sample, the batch repeated), measured in one run on the same float64 layer and inputs:

* fwd+bwd: one ``adapter.gradients`` call (eager), the unit of the table;
* directional: one example of the directional property (``check_directional_derivative``:
  a fresh float64 layer, then per argument one tape and 4 forward evaluations);
* compute_gradient: ``tf.test.compute_gradient`` for the inputs alone (a tape per output
  element and 2 forward calls per input element).

The directional check's cost does not grow with the input size; compute_gradient's grows with
it. Run: ``python benchmarks/gradient_cost.py`` (``--repeats N`` for the median of N runs).
"""

import argparse
import dataclasses
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np
import tensorflow as tf

from layercheck import cases, finite_differences, registry
from layercheck.adapters import KerasAdapter

SIZES = (16, 1024)


def example_of(layer, size):
    """The layer's first float32 edge sample, its batch axis repeated (or cropped) so that one
    call's inputs have about ``size`` elements."""
    example = next(sample.example for sample in registry.get(layer).samples() if sample.dtype == "float32")
    call = np.asarray(example.call_inputs[0])
    rows = max(1, size // int(np.prod(call.shape[1:])))
    batch_axis = 1 if registry.get(layer).stateful else 0
    inputs = np.asarray(example.inputs)
    repeated = np.concatenate([inputs] * (rows // inputs.shape[batch_axis] + 1), axis=batch_axis)
    return dataclasses.replace(example, inputs=np.take(repeated, range(rows), axis=batch_axis))


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
        finite_differences.check_directional_derivative(adapter, example, seed=2)

    def compute_gradient():
        if adapter.spec.stateful:  # one call from a fixed state, as the property replays it
            def f(inputs):
                adapter.assign(built, adapter.spec.state, np.zeros(out_shape))
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
    parser.add_argument("--layers", default=",".join(registry.names()))
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
