"""Subtle mutants of MemoryCellLayer: each is the production layer with one plausible bug.

``layercheck zoo tests/zoo/mutants_memory_cell.py`` runs the gate against each entry of
:data:`ZOO`; every one must be caught (tests/test_zoo_command.py). :data:`AWAITING_PROPERTY`
holds the mutants the gate does not catch yet, each with the property it lacks.

Each docstring says the bug and the property expected to catch it first. Most give the right
output for the first call of a sequence (from a zero state), so only a property that follows
the state sees them.
"""

import keras
import tensorflow as tf

from layercheck.layers import MemoryCellLayer

register = keras.saving.register_keras_serializable(package="layercheck_zoo")


class _Steps(MemoryCellLayer):
    """The production call in replaceable steps (not an entry: it is correct)."""

    def call(self, inputs):
        inputs = tf.cast(inputs, self.compute_dtype)
        previous_state = self._previous(inputs)
        new_state = self._activation(tf.matmul(inputs, self.kernel) + self._recurrent(previous_state))
        self._store(new_state)
        return self._returned(previous_state, new_state)

    def _previous(self, inputs):
        return tf.stop_gradient(self._state_for(inputs))

    def _recurrent(self, previous_state):
        return tf.matmul(previous_state, self.recurrent_kernel)

    def _activation(self, pre_activation):
        return tf.tanh(pre_activation)

    def _store(self, new_state):
        self.state.assign(tf.cast(new_state, self.state.dtype))

    def _returned(self, previous_state, new_state):
        return new_state


@register
class NeverAssignedStateCell(_Steps):
    """Bug: the new state is computed and returned but never written back: every call starts
    from zeros. The first call of a sequence is right.
    Caught by test_state_persists_and_the_sequence_equals_the_reference_recurrence."""

    def _store(self, new_state):
        pass


@register
class ReturnsPreviousStateCell(_Steps):
    """Bug: stores the new state but returns the one it read (an off-by-one in time: the
    outputs lag the reference by one call, starting with zeros).
    Caught by test_state_persists_and_the_sequence_equals_the_reference_recurrence."""

    def _returned(self, previous_state, new_state):
        return tf.cast(previous_state, new_state.dtype)


@register
class HalfAngleCell(_Steps):
    """Bug: ``2 * sigmoid(a) - 1`` as "tanh from sigmoid": it is ``tanh(a / 2)``, the right
    shape and range with half the slope. Caught by
    test_state_persists_and_the_sequence_equals_the_reference_recurrence."""

    def _activation(self, pre_activation):
        return 2.0 * tf.sigmoid(pre_activation) - 1.0


@register
class TransposedRecurrentKernelCell(_Steps):
    """Bug: ``S @ R^T`` (the recurrent kernel used as (to, from)): the first call (zero
    state) and symmetric kernels are right. Caught by
    test_state_persists_and_the_sequence_equals_the_reference_recurrence."""

    def _recurrent(self, previous_state):
        return tf.matmul(previous_state, self.recurrent_kernel, transpose_b=True)


@register
class GradientThroughStateCell(_Steps):
    """Bug: the previous state is read without ``tf.stop_gradient``. Nothing changes for a
    tape that watches only trainable variables, but a tape that watches the state gets a
    gradient for it: the state is differentiable, against the documented contract.
    Caught by test_state_is_non_trainable_and_an_optimizer_step_does_not_move_it."""

    def _previous(self, inputs):
        return self._state_for(inputs)


@register
class TrainableStateCell(_Steps):
    """Bug: the state variable is created with ``trainable=True`` (it is read as a constant,
    so no gradient reaches it, but anything that collects trainable variables sees it).
    Caught by test_state_is_non_trainable_and_an_optimizer_step_does_not_move_it."""

    def _create_state(self, batch_size):
        with tf.init_scope():
            self.state = tf.Variable(
                tf.zeros((batch_size, self.units), dtype=self.variable_dtype),
                trainable=True,
                name=f"{self.name}/state",
            )


@register
class NoopResetCell(_Steps):
    """Bug: ``reset_state()`` with the same batch size does nothing (it only handles a new
    batch size, by making a new zero state): the next sequence continues the old one.
    Caught by test_reset_state_restores_zeros_and_the_next_sequence_replays."""

    def reset_state(self, batch_size=None):
        if self.state is None or (batch_size is not None and batch_size != self.state.shape[0]):
            super().reset_state(batch_size)


@register
class SharedStateCell(_Steps):
    """Bug: the state lives in a class-level cache keyed by its shape ("one state per shape"),
    zeroed when a layer is built: one layer alone behaves, but two instances with the same
    batch size and units share one state. Caught by test_two_instances_do_not_share_state."""

    _states = {}  # noqa: RUF012 - the class-level state is the bug

    def _create_state(self, batch_size):
        key = (batch_size, self.units, self.variable_dtype)
        shared = SharedStateCell._states.get(key)
        if shared is None:
            super()._create_state(batch_size)
            SharedStateCell._states[key] = self.state
            return
        with tf.init_scope():
            shared.assign(tf.zeros_like(shared))
        self.state = shared


@register
class SilentBatchChangeCell(_Steps):
    """Bug: a call with another batch size silently starts a new zero state of that size
    (a "friendly" fix of the how-to's crash): a caller's batching bug goes unnoticed.
    Caught by test_batch_size_change_is_a_clear_error_until_reset."""

    def _check_input_shape(self, shape):
        if self.state is not None and shape[0] is not None and shape[0] != self.state.shape[0]:
            self._create_state(shape[0])
        super()._check_input_shape(shape)


@register
class DefaultInitializerCell(_Steps):
    """Bug: the default ``recurrent_initializer`` is Glorot uniform, not the documented
    orthogonal one (a copy-paste of the kernel's line): every layer made with the defaults
    starts from another recurrent kernel, and no property that assigns drawn weights sees it.
    Caught by test_documented_defaults_are_the_defaults."""

    def __init__(self, units, kernel_initializer="glorot_uniform", recurrent_initializer="glorot_uniform", **kwargs):
        super().__init__(units, kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer, **kwargs)


@register
class ConfigDropsKernelInitializerCell(_Steps):
    """Bug: ``get_config`` leaves out ``kernel_initializer``: a layer made from the config
    gets the default initializer, not the one it was made with. Caught by the round trips,
    whose examples draw non-default initializers (test_round_trips.py)."""

    def get_config(self):
        config = super().get_config()
        config.pop("kernel_initializer")
        return config


LAYER = "memory_cell"

ZOO = {
    "cell_never_assigned_state": (LAYER, NeverAssignedStateCell),
    "cell_returns_previous_state": (LAYER, ReturnsPreviousStateCell),
    "cell_half_angle_tanh": (LAYER, HalfAngleCell),
    "cell_transposed_recurrent_kernel": (LAYER, TransposedRecurrentKernelCell),
    "cell_gradient_through_state": (LAYER, GradientThroughStateCell),
    "cell_trainable_state": (LAYER, TrainableStateCell),
    "cell_noop_reset": (LAYER, NoopResetCell),
    "cell_shared_state": (LAYER, SharedStateCell),
    "cell_silent_batch_change": (LAYER, SilentBatchChangeCell),
    "cell_config_drops_kernel_initializer": (LAYER, ConfigDropsKernelInitializerCell),
    "cell_default_recurrent_initializer": (LAYER, DefaultInitializerCell),
}

#: Mutants the gate does not catch yet, each with the property it lacks (none at present).
#: An entry moves into ZOO when its property lands.
AWAITING_PROPERTY = {}
