"""MemoryCellLayer: a recurrent cell whose state persists across calls.

One call computes::

    new_state = tanh(inputs @ kernel + state @ recurrent_kernel)

stores ``new_state`` as the state and returns it. ``inputs`` has shape (batch, n), ``kernel``
(n, units), ``recurrent_kernel`` (units, units), the state (batch, units), zeros at first.
Integer inputs are cast to the compute dtype (Keras casts only floating ones).

The state
---------
* It is a non-trainable ``tf.Variable`` of fixed shape (batch, units), created when the batch
  size is first known: at build when the input shape has a static batch size, otherwise at the
  first call. A functional model on ``keras.Input(shape=(n,))`` therefore builds, and the
  state appears at the first real call (eagerly, or while a ``tf.function`` first traces).
  A fixed shape is what lets the layer run under XLA, which cannot change a variable's shape.
* A call with a different batch size is an error that says what to do: call
  :meth:`MemoryCellLayer.reset_state` with the new ``batch_size`` first. Silently starting a
  new sequence would hide a bug in the caller's batching. Known limitation: inside a trace
  whose batch size is unknown (``input_signature`` with ``None``, a served export), when the
  state's batch size is 1, Grappler's constant folding drops the run-time assertion and the
  call fails with TensorFlow's "Trying to assign to variable with tensor with wrong shape"
  instead (pinned by a strict xfail in ``properties/test_round_trips.py``).
* :meth:`reset_state` sets the state to zeros (keeping its batch size unless given another).
  Before the build, ``reset_state(batch_size=b)`` creates the state, and the build keeps it.
  Changing the batch size replaces the variable, so functions traced before it must be traced
  again (a new ``tf.function``); with the same batch size the variable is zeroed in place.
* Gradients: the state is read as a constant. A gradient through one call does not flow into
  the state or into earlier calls; through several calls inside one tape it is the sum of the
  per-call gradients, each with its own previous state held constant (truncated backprop
  through time with a window of one call). The state is not in ``trainable_weights``, gets
  no gradient, and an optimizer never moves it.
* Saving: the state is not a Keras weight, so ``.keras`` files, ``save_weights`` and
  ``get_config`` do not carry it; a loaded layer starts from zeros. ``model.export()``
  (SavedModel) differs: it captures the state variable, so the served model starts from the
  state held at export and advances its own copy with each call; exporting needs the state to
  exist (call the model, or ``reset_state(batch_size=...)``, first) and serves that batch size.
* Distribution: under ``tf.distribute`` strategies the state is a sync-on-read variable with
  one copy per replica. Each replica keeps the state of its own slice of the global batch;
  the copies are never synchronised (a state is a per-sequence quantity, not a parameter to
  average). Reading ``layer.state`` outside ``strategy.run`` returns the first replica's copy.
  The state's batch size is the per-replica batch size, fixed at the first distributed call.

Differences from the how-to this layer comes from: the how-to created the state with the
build-time batch size, so a functional model with an unknown batch size failed to build, a
batch-size change failed deep inside TensorFlow, and there was no way to reset.
"""

import keras
import tensorflow as tf

from layercheck.layers import _validation


@keras.saving.register_keras_serializable(package="layercheck")
class MemoryCellLayer(keras.layers.Layer):
    """``tanh(inputs @ kernel + state @ recurrent_kernel)``, with the state kept across calls.

    Args:
        units: positive int, the size of the state and of the output.
        kernel_initializer: initializer of ``kernel`` (n, units).
        recurrent_initializer: initializer of ``recurrent_kernel`` (units, units).
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype``, ...).
    """

    def __init__(
        self,
        units,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = _validation.positive_int("units", units)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.state = None

    def build(self, input_shape):
        shape = _validation.input_shape_with_known_last_dim(self, input_shape, min_rank=2, max_rank=2)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(shape[-1], self.units),
            initializer=self.kernel_initializer,
            trainable=True,
        )
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel",
            shape=(self.units, self.units),
            initializer=self.recurrent_initializer,
            trainable=True,
        )
        # A state sized by reset_state(batch_size=...) before the build is kept: the first call
        # with another batch size is then the usual clear error, not a silent resize.
        if shape[0] is not None and self.state is None:
            self._create_state(shape[0])

    def __call__(self, inputs, *args, **kwargs):
        # The static checks run here, before Keras's call wrapper: an error raised inside
        # ``call`` comes back with the arguments appended and the message in terminal escape
        # codes (keras.src.utils.traceback_utils).
        shape = getattr(inputs, "shape", None)
        if self.built and shape is not None:
            self._check_input_shape(tuple(shape))
        return super().__call__(inputs, *args, **kwargs)

    def call(self, inputs):
        # Integer inputs are not cast by Keras; the other layers take them too.
        inputs = tf.cast(inputs, self.compute_dtype)
        previous_state = self._state_for(inputs)
        new_state = tf.tanh(
            tf.matmul(inputs, self.kernel) + tf.matmul(tf.stop_gradient(previous_state), self.recurrent_kernel)
        )
        self.state.assign(tf.cast(new_state, self.state.dtype))
        return new_state

    def compute_output_shape(self, input_shape):
        shape = _validation.input_shape_with_known_last_dim(self, input_shape, min_rank=2, max_rank=2)
        return (shape[0], self.units)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            }
        )
        return config

    def reset_state(self, batch_size=None):
        """Set the state to zeros.

        Args:
            batch_size: the batch size of the calls to come. ``None`` keeps the current one
                (or leaves the state to be created at the next call if it does not exist yet).
                A different size replaces the state variable: trace functions anew after it.
        """
        if batch_size is not None:
            batch_size = _validation.positive_int("batch_size", batch_size)
        if self.state is None or (batch_size is not None and batch_size != self.state.shape[0]):
            self.state = None
            if batch_size is not None:
                self._create_state(batch_size)
            return
        self.state.assign(tf.zeros_like(self.state))

    def _check_input_shape(self, shape):
        """A known input shape against the built kernel and the state's batch size."""
        features = self.kernel.shape[0]
        if len(shape) != 2 or shape[-1] != features:
            raise ValueError(
                f"MemoryCellLayer {self.name!r} was built for inputs of shape (batch, {features}), "
                f"got input shape {shape}"
            )
        if self.state is not None and shape[0] is not None and shape[0] != self.state.shape[0]:
            raise ValueError(self._batch_size_message(f"batch size {shape[0]}"))

    def _batch_size_message(self, got):
        return (
            f"MemoryCellLayer {self.name!r} holds a state for batch size {self.state.shape[0]}, "
            f"got inputs with {got}. The state is per sequence: call "
            f"reset_state(batch_size=...) before feeding a different batch size."
        )

    def _state_for(self, inputs):
        """The state to use for ``inputs``, created on first use; checks the batch size."""
        self._check_input_shape(tuple(inputs.shape))
        batch_size = inputs.shape[0]
        if self.state is None:
            if batch_size is None:
                raise ValueError(
                    f"MemoryCellLayer {self.name!r} creates its state at the first call and needs a "
                    f"static batch size there, got inputs of shape {tuple(inputs.shape)}. Call it once "
                    "eagerly, trace with a fixed batch size, or call reset_state(batch_size=...) first."
                )
            self._create_state(batch_size)
        if batch_size is not None:
            # identity reads the value now: a same-dtype cast would return the variable
            # itself, which the assign below would change under the caller's feet.
            return tf.cast(tf.identity(self.state), self.compute_dtype)
        # Only a traced function with an unknown batch dimension gets here: check at run time.
        check = tf.debugging.assert_equal(
            tf.shape(inputs)[0], self.state.shape[0], message=self._batch_size_message("a different batch size")
        )
        with tf.control_dependencies([check]):
            return tf.cast(tf.identity(self.state), self.compute_dtype)

    def _create_state(self, batch_size):
        # init_scope lifts the creation out of a tf.function being traced, so the state can
        # first appear inside a traced call (a functional model's first predict, for one).
        with tf.init_scope():
            self.state = tf.Variable(
                tf.zeros((batch_size, self.units), dtype=self.variable_dtype),
                trainable=False,
                name=f"{self.name}/state",
                synchronization=tf.VariableSynchronization.ON_READ,
                aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
            )
