"""Pure-NumPy references for the layercheck layers: the executable specification.

Each module states, in its docstring and in short naive-but-exact float64 code, the math,
shapes and conventions (kinks, floors, state, gradients) of one Keras layer, for the harness
to check the production layers against and for engineers porting them to read.  Nothing here
imports TensorFlow or Keras; only NumPy and the standard library.

Modules
    reference.temperature_softmax     TemperatureSoftmax: softmax(x / max(T, floor)).
    reference.nonnegative_projection  NonNegativeProjection: relu(x @ W) @ B.
    reference.memory_cell             MemoryCellLayer: S <- tanh(x @ K + S @ R), per call.
"""
