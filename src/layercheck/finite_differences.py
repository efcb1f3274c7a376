"""Gradient checks against finite differences, in float64 (a float32 layer would cast float64
inputs down), independent of the reference.

*Directional* (:func:`check_directional_derivative`, every example): for each differentiable
argument a, a random direction ``u`` and the cotangent ``v``, compare ``<tape gradient, u>``
with the 4-point central difference of ``h -> L(a + h u)``::

    (L(-2h) - 8 L(-h) + 8 L(h) - L(2h)) / (12 h)            error O(h**4 f^(5))

4 evaluations and 1 tape per argument, whatever the input size (the idea of JAX's
``check_grads``). ``u`` is rescaled so that a unit step moves the layer's inner variable by at
most 1 (``GradientModel.inner_rate``): then the derivatives of ``h -> L`` are of the order of
the outputs and a fixed ``h`` (:data:`STEP`) suits every example. A stateful layer replays its
steps from the states the unperturbed calls left (teacher forcing): the function whose
derivative the truncated-BPTT tape gives. The comparison's ``scale`` is
``sum |v| * difference_scale`` (not floored at 1), so a check is as sharp as the differences
can resolve. Each comparison is counted as informative when a 0.1% gradient error would
exceed the tolerance.

*Full Jacobian* (:func:`check_full_jacobian`, small sizes, the ``thorough`` profile): the
numerical Jacobian of ``tf.test.compute_gradient`` (2 evaluations per element of the argument)
against the tape's Jacobian assembled row by row with one-hot cotangents. Each output is
compared on its own scale.

Kinks: finite differences are only meaningful where no evaluation crosses a kink. The
gradient model says where its kinks are (``lift`` for a one-sided kink such as a floor,
``near_kinks`` / ``move_off_kinks`` for entries such as ReLU pre-activations). Examples are
MOVED off a kink, not discarded, and every move is counted in a :class:`KinkTally` and
labelled with ``hypothesis.event``; the properties assert at the end that discarding (after
all retries failed) did not starve them and that some comparison was informative.
"""

import dataclasses
import math

import numpy as np

from layercheck import tolerances
from layercheck.assertions import Case, assert_close, check
from layercheck.devices import on
from layercheck.gradients import argument_names, event, model_of, random_cotangent, several_calls_gradients

PROP_DIRECTIONAL = "the directional derivative equals central differences"
PROP_JACOBIAN = "the full Jacobian equals tf.test.compute_gradient's numerical Jacobian"

#: Step of the directional differences, in units where a step of 1 moves the inner variable by
#: at most 1. Truncation ~ h**4 / 30 * f^(5) (f^(5) at most ~1e3 times the outputs' scale for
#: these layers) ~ 3e-15; rounding ~ 1.5 / h * eps * (the loss's scale) ~ 3e-12. Both far
#: below the float64 tolerance of PROP_DIRECTIONAL in layercheck.tolerances.
STEP = 1e-4
#: The 4-point central stencil: offsets (in steps) and weights (divided by 12 h).
CENTRAL_OFFSETS = (-2.0, -1.0, 1.0, 2.0)
CENTRAL_WEIGHTS = (1.0, -8.0, 8.0, -1.0)
#: The 4-point one-sided (forward) stencil: offsets 0..3, weights divided by 6 h. Error O(h**3).
FORWARD_OFFSETS = (0.0, 1.0, 2.0, 3.0)
FORWARD_WEIGHTS = (-11.0, 18.0, -9.0, 2.0)
#: compute_gradient's per-element step, in the same units (2-point central, error O(d**2)).
JACOBIAN_STEP = 1e-5
#: Retries of the move off a kink (a gradient model's nudges grow with each).
MOVE_ATTEMPTS = 6


@dataclasses.dataclass(frozen=True)
class Stencil:
    """Where finite differences evaluate the layer around a point, for argument ``name``.

    Directional: the points ``a + offset * step * direction`` (``direction`` set). Element-wise
    (the Jacobian): every element of the argument moved by ``delta`` on its own.
    """

    name: str
    step: float = 0.0
    direction: object = None
    offsets: tuple = CENTRAL_OFFSETS
    delta: float = 0.0

    def points(self, point):
        """The evaluation points of a directional stencil."""
        base = point.argument(self.name)
        return [point.with_argument(self.name, base + offset * self.step * self.direction) for offset in self.offsets]


@dataclasses.dataclass
class KinkTally:
    """Counts, over a property's examples, what the kink handling did.

    ``checked``: arguments compared with finite differences (moved or not); ``moved``: of
    those, how many needed a move off a kink first; ``entries_moved``: the offending entries
    found before the moves; ``discarded``: arguments no move could clear (never compared).
    :meth:`check_not_starved` fails a starved property.
    """

    checked: int = 0
    moved: int = 0
    discarded: int = 0
    entries_moved: int = 0
    informative: int = 0

    def summary(self):
        return (
            f"{self.checked} argument(s) compared with finite differences, {self.moved} of them moved off a kink "
            f"first ({self.entries_moved} offending entries in all), {self.discarded} discarded; "
            f"{self.informative} comparison(s) resolved the derivative to better than 0.1%"
        )

    def check_not_starved(self, case):
        """At least 90% of the arguments were compared, and some comparison could see a
        gradient error of 0.1% (a property whose derivatives are all below the differences'
        resolution, e.g. only saturated cells, would pass any gradient)."""
        total = self.checked + self.discarded
        check(
            self.checked > 0 and self.discarded <= 0.1 * total,
            case,
            "the kink filter did not starve the property: at least 90% of the arguments were compared",
            self.summary(),
        )
        check(
            self.informative > 0,
            case,
            "some comparison resolved the derivative well enough to see a 0.1% gradient error",
            self.summary(),
        )

    def record_signal(self, informative):
        """Count a comparison; ``informative``: the derivative exceeds 1000 times the allowed
        error somewhere, so a 0.1% gradient error would show."""
        if informative:
            self.informative += 1
            event("signal: a 0.1% gradient error would show")
        else:
            event("signal: below the differences' resolution (e.g. saturated, one-hot or dead)")


class Discarded(Exception):
    """No move cleared the kinks around an argument (counted in the tally)."""


def clear_of_kinks(model, point, name, prepare, rng, tally):
    """Move ``point`` until no evaluation crosses a kink.

    ``prepare(point) -> (point, stencil)`` computes the stencil (and may itself lift the point
    off a one-sided kink, returning a new point). Returns ``(point, stencil, moved)``; raises
    :class:`Discarded` (counted) when no move clears the kinks.
    """
    prepared, stencil = prepare(point)
    lifted = prepared is not point
    if lifted:
        tally.moved += 1
        tally.entries_moved += 1
        event("kink: moved off a one-sided kink")
    for attempt in range(MOVE_ATTEMPTS + 1):
        near = model.near_kinks(prepared, name, stencil)
        if near is None:
            return prepared, stencil, lifted
        if not near.any():
            if attempt:
                tally.moved += 1
                event(f"kink: moved off a kink ({attempt} nudge(s))")
            else:
                event("kink: none within reach")
            return prepared, stencil, lifted or attempt > 0
        if attempt == 0:
            tally.entries_moved += int(near.sum())
        prepared, stencil = prepare(model.move_off_kinks(prepared, near, rng, attempt))
    tally.discarded += 1
    event("kink: discarded (no move cleared it)")
    raise Discarded(name)


# -- evaluating the layer at a point ---------------------------------------------------------------


def set_weights(adapter, layer, point):
    for name, value in point.weights.items():
        adapter.assign(layer, name, value)


def outputs_at(adapter, layer, point):
    """The float64 layer's outputs at ``point`` (weights assigned; a stateful layer replays its
    steps from ``point.constants["states"]``: teacher forcing)."""
    set_weights(adapter, layer, point)
    if not adapter.spec.stateful:
        return adapter.call(layer, point.inputs, "eager").astype(np.float64)
    outputs = []
    for x, state in zip(point.inputs, point.constants["states"]):
        adapter.assign(layer, adapter.spec.state, state)
        outputs.append(adapter.call(layer, x, "eager").astype(np.float64))
    return np.stack(outputs)


def loss_at(adapter, layer, point, cotangent):
    return float(np.sum(outputs_at(adapter, layer, point) * cotangent))


def tape_at(adapter, layer, point, cotangent):
    """The float64 tape gradients at ``point`` (eager); a stateful layer runs its steps from
    zeros on one tape, and the states they leave are stored in the returned point."""
    set_weights(adapter, layer, point)
    if not adapter.spec.stateful:
        return point, adapter.gradients(layer, point.inputs, cotangent, "eager")
    model = model_of(adapter)
    adapter.assign(layer, adapter.spec.state, np.zeros(model.output_shape(point)[1:]))
    outputs, gradients, _ = several_calls_gradients(adapter, layer, point.inputs, cotangent, "eager")
    states = model.states_from_outputs(np.asarray(outputs, dtype=np.float64))
    return point.replace(constants={**point.constants, "states": states}), gradients


# -- directional finite differences -----------------------------------------------------------------


def _normalised(model, point, name, raw_direction):
    rate = model.inner_rate(point, name, raw_direction)
    return raw_direction / rate if rate > 0 else raw_direction


def _directional_prepare(model, name, raw_direction, step):
    def prepare(point):
        direction = _normalised(model, point, name, raw_direction)
        lifted = model.lift(point, name, 2.0 * step * float(np.max(np.abs(direction))))
        if lifted is not None:
            point = lifted
            direction = _normalised(model, point, name, raw_direction)
        return point, Stencil(name, step=step, direction=direction)

    return prepare


def check_directional_derivative(adapter, example, *, seed=0, device=None, tally=None, step=STEP):
    """For every differentiable argument: ``<tape gradient, u>`` equals the 4-point central
    difference of ``L`` along ``u``, in float64: 4 evaluations and one tape per argument,
    whatever the input size. Kinks are handled as the module docstring says."""
    model = model_of(adapter)
    tally = tally if tally is not None else KinkTally()
    rng = np.random.default_rng(seed)
    dtype = "float64"
    case = Case.of(adapter, PROP_DIRECTIONAL, device, dtype, example, direction_seed=seed, step=step)
    tolerance = tolerances.gradient(dtype, adapter.spec, PROP_DIRECTIONAL, device)
    start = model.point(example, dtype)
    model.describe(start)
    with on(device):
        layer = example.make(adapter, dtype)
        cotangent = random_cotangent(rng, model.output_shape(start), dtype)
        if adapter.spec.stateful:
            start, _ = tape_at(adapter, layer, start, cotangent)  # the states the steps leave
        for name in argument_names(adapter):
            raw = rng.uniform(-1.0, 1.0, np.shape(start.argument(name)))
            try:
                point, stencil, moved = clear_of_kinks(model, start, name, _directional_prepare(model, name, raw, step), rng, tally)
            except Discarded:
                continue
            point, gradients = tape_at(adapter, layer, point, cotangent)
            gradient = gradients.get(name)
            check(
                gradient is not None,
                case,
                f"the float64 tape gives a gradient with respect to {name!r}",
                "the tape returned None: the output does not depend on it differentiably",
            )
            along = float(np.sum(np.asarray(gradient, dtype=np.float64) * stencil.direction))
            losses = [loss_at(adapter, layer, evaluated, cotangent) for evaluated in stencil.points(point)]
            differences = math.fsum(w * value for w, value in zip(CENTRAL_WEIGHTS, losses)) / (12.0 * step)
            set_weights(adapter, layer, point)
            tally.checked += 1
            scale = float(np.sum(np.abs(cotangent) * model.difference_scale(point)))
            tally.record_signal(abs(differences) > 1e3 * (tolerance.atol * scale + tolerance.rtol * abs(differences)))
            assert_close(
                along,
                differences,
                case,
                tolerance,
                claim=f"<tape gradient wrt {name!r}, u> equals the central difference of L along u"
                + (" (at the example moved off the kink)" if moved else ""),
                scale=scale,
            )


# -- the full Jacobian -----------------------------------------------------------------------------


def _element_step(model, point, name):
    """compute_gradient's per-element step: moving any one element by it moves the inner
    variable by at most JACOBIAN_STEP."""
    value = np.asarray(point.argument(name), dtype=np.float64)
    rates = []
    for index in np.ndindex(value.shape):
        unit = np.zeros_like(value)
        unit[index] = 1.0
        rates.append(model.inner_rate(point, name, unit, every_output=True))
    rate = max(rates) if rates else 0.0
    return JACOBIAN_STEP / rate if rate > 0 else JACOBIAN_STEP


def _jacobian_prepare(model, name):
    def prepare(point):
        delta = _element_step(model, point, name)
        lifted = model.lift(point, name, 2.0 * delta)
        if lifted is not None:
            point = lifted
            delta = _element_step(model, point, name)
        return point, Stencil(name, delta=delta)

    return prepare


def check_full_jacobian(adapter, example, *, seed=0, device=None, tally=None):
    """For every differentiable argument: the tape's Jacobian (rows from ``adapter.gradients``
    with one-hot cotangents; a stateful layer: one tape over all steps) equals the numerical
    Jacobian of ``tf.test.compute_gradient``, in float64. Use on small examples
    (``GradientModel.shrink``): it costs 2 evaluations per argument element and one tape per
    output element."""
    import tensorflow as tf

    model = model_of(adapter)
    tally = tally if tally is not None else KinkTally()
    rng = np.random.default_rng(seed)
    dtype = "float64"
    case = Case.of(adapter, PROP_JACOBIAN, device, dtype, example, seed=seed)
    tolerance = tolerances.gradient(dtype, adapter.spec, PROP_JACOBIAN, device)
    start = model.point(example, dtype)
    with on(device):
        layer = example.make(adapter, dtype)
        shape = model.output_shape(start)
        if adapter.spec.stateful:
            start, _ = tape_at(adapter, layer, start, np.zeros(shape))
        for name in argument_names(adapter):
            try:
                point, stencil, _ = clear_of_kinks(model, start, name, _jacobian_prepare(model, name), rng, tally)
            except Discarded:
                continue
            delta = stencil.delta
            size = int(np.prod(shape))
            rows = []
            for row in range(size):
                one_hot = np.zeros(size)
                one_hot[row] = 1.0
                _, gradients = tape_at(adapter, layer, point, one_hot.reshape(shape))
                check(gradients.get(name) is not None, case, f"the tape gives a gradient with respect to {name!r}")
                rows.append(np.asarray(gradients[name], dtype=np.float64).ravel())
            tape_jacobian = np.stack(rows)

            def f(value, name=name, point=point):
                return tf.constant(outputs_at(adapter, layer, point.with_argument(name, np.asarray(value))))

            _, numerical = tf.test.compute_gradient(f, [tf.constant(np.asarray(point.argument(name), np.float64))], delta=delta)
            set_weights(adapter, layer, point)
            tally.checked += 1
            scale = model.difference_scale(point).reshape(-1, 1) * (JACOBIAN_STEP / delta)
            allowed = tolerance.atol * scale + tolerance.rtol * np.abs(numerical[0])
            tally.record_signal(bool(np.any(np.abs(numerical[0]) > 1e3 * allowed)))
            assert_close(
                tape_jacobian,
                numerical[0],
                case,
                tolerance,
                claim=f"the tape's Jacobian of the outputs with respect to {name!r} equals compute_gradient's "
                f"numerical one (step {delta:.3g})",
                scale=scale,
            )


def shrink_example(example, max_side=3):
    """``example`` cropped by its layer's gradient model (full Jacobians)."""
    return example.spec.gradient.shrink(example, max_side)


__all__ = [
    "CENTRAL_OFFSETS",
    "CENTRAL_WEIGHTS",
    "FORWARD_OFFSETS",
    "FORWARD_WEIGHTS",
    "JACOBIAN_STEP",
    "PROP_DIRECTIONAL",
    "PROP_JACOBIAN",
    "STEP",
    "Discarded",
    "KinkTally",
    "Stencil",
    "check_directional_derivative",
    "check_full_jacobian",
    "clear_of_kinks",
    "loss_at",
    "outputs_at",
    "shrink_example",
    "tape_at",
]
