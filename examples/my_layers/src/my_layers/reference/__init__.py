"""Pure-NumPy float64 references of the three layers of ``my_layers``: the specification a port
reads. No TensorFlow, no Keras: each module is the math of its docstring, written naively."""
