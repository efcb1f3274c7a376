"""Properties of NonNegativeProjection: ``y = relu(x @ W) @ B``.

The basis ``B`` (k, d) is given to the constructor; its rows are the basis vectors and it is
a non-trainable weight (``basis_vectors``). ``W`` (n, k) is the trainable
``projection_weights``; ``coefficients(x) = relu(x @ W)`` has shape (..., k) and the output
``coefficients(x) @ B`` has shape (..., d).

Invariants, one test each:

1. float32 outputs equal the float64 reference (in eager, tf.function and XLA);
2. the coefficients are non-negative;
3. every output row lies in the cone of the basis rows, judged from the output alone;
4. the output equals ``coefficients(x) @ basis_vectors``;
5. every family of bases (non-square both ways, square, rank-deficient, ill-conditioned,
   duplicate rows, zero rows, large) builds, gives outputs of shape (..., d) and equals the
   reference;
6. the basis is not trainable, gets no gradient and never changes under training, while
   ``projection_weights`` does move;
7. a freshly built layer (default initializer) is alive: some coefficient is positive;
8. relu at exactly 0 has value 0 and gradient 0 (constructed exact zeros, checked exactly;
   the core is :mod:`layercheck.layers.nonnegative_projection_checks`);
9. a basis entry beyond the compute dtype's range is a clear error;
10. a basis of bools or complex numbers, or with an entry beyond the variable dtype's range, is
    a clear error.

The generic properties (every dtype, mode and device, gradients, round trips, argument checks
from the spec's error inputs) run this layer from its spec,
``layercheck/layers/nonnegative_projection_spec.py``.

Which property catches which bug:

* no ReLU, or an activation that goes negative (leaky ReLU, ELU): 2, 1, and 3 wherever the
  wrong output leaves the cone (it cannot when the cone is all of R^d, e.g. for a tall basis
  whose rows surround the origin, and barely can for nearly parallel rows);
* ReLU applied after the reconstruction (``relu(x @ W @ B)``): 3 (outputs outside the span
  or the cone of the basis), 4 (the output is no longer ``coefficients @ B``), and 1;
* ``abs`` instead of ``relu``: only 1. ``|x @ W| @ B`` is a non-negative combination of the
  basis rows, so it IS in the cone (3 holds) and ``|x @ W|`` is non-negative (2 holds);
* a trainable or drifting basis: 6; a dead (all-zero) initialisation: 7.

Rank-3 inputs and batch 1 are drawn by the input-shape strategy and are, besides, always
run as explicit examples (``EDGE_EXAMPLES``), so no profile can miss them.
"""

import keras
import numpy as np
import pytest
import scipy.optimize
import tensorflow as tf
from hypothesis import assume, example, given
from hypothesis import strategies as st

from layercheck import adapters, cases, profiles, tolerances
from layercheck import strategies as lcst
from layercheck.assertions import Case, assert_close, check, expect_clear_error
from layercheck.gradients import event
from layercheck.layers import nonnegative_projection_checks as checks
from reference import nonnegative_projection as reference

LAYER = "nonnegative_projection"
pytestmark = pytest.mark.layercheck_layer(LAYER)


@pytest.fixture(scope="session")
def nonnegative_projection(adapter_for):
    return adapter_for(LAYER)


#: Basis families of test 5, by the name that appears in the test id.
FAMILIES = {
    "generic": lcst.generic_bases,
    "square": lcst.square_bases,
    "rank-deficient": lcst.rank_deficient_bases,
    "ill-conditioned": lcst.ill_conditioned_bases,
    "duplicate-rows": lcst.bases_with_duplicate_rows,
    "zero-rows": lcst.bases_with_zero_rows,
    "large": lcst.large_bases,
}

#: Above this condition number the cone check does not solve for the coefficients (least
#: squares would amplify float32 rounding by up to cond(B)); it uses NNLS's residual instead.
#: At 1e3 the coefficient tolerance ||E||_2 / sigma_min is at most about 1e-5 * cond ~ 1e-2 of
#: the coefficients' size, small enough to see any genuinely negative coefficient.
COND_LIMIT = 1e3

#: Float64 slack of the cone check's solvers, relative to the sizes involved: float64
#: rounding (eps 2.2e-16) times cond(B) <= 1e3 (least squares) is ~1e-13; NNLS's active-set
#: least-squares solves are backward stable, so its residual is accurate to ~eps * (|B||c| +
#: |y|). 1e-9 is far above both and far below any float32 error the tolerance allows.
SOLVER_SLACK = 1e-9


# -- helpers ------------------------------------------------------------------------------------




def _basis(example):
    """The basis as the layer sees it (float32 values), in float64."""
    return cases.as_seen(np.asarray(example.args[0]), "float32")


def _edge_example(input_shape, k, d, seed):
    """A fixed example with the given input shape and a (k, d) basis (entries in [-4, 4])."""
    rng = np.random.default_rng(seed)
    n = input_shape[-1]
    basis = rng.uniform(-4.0, 4.0, (k, d)).astype(np.float32)
    return cases.Example(
        layer=LAYER,
        args=(basis.tolist(),),
        kwargs={},
        inputs=rng.uniform(-3.0, 3.0, input_shape).astype(np.float32),
        weights={"projection_weights": rng.uniform(-2.0, 2.0, (n, k)).astype(np.float32)},
        seed=seed,
    )


#: Rank 3; batch 1; rank 3 with batch 1. Wide, square and tall bases, so the cone check runs
#: both its least-squares and its NNLS branch on them.
EDGE_EXAMPLES = (
    _edge_example((2, 3, 5), k=3, d=6, seed=1),
    _edge_example((1, 5), k=4, d=4, seed=2),
    _edge_example((1, 1, 5), k=6, d=3, seed=3),
)


def with_edge_examples(**cycled):
    """Add :data:`EDGE_EXAMPLES` as explicit examples; each keyword names another argument of
    the test and the values it cycles through (e.g. ``mode=adapters.MODES``)."""

    def decorate(test):
        for index, edge in enumerate(EDGE_EXAMPLES):
            others = {name: values[index % len(values)] for name, values in cycled.items()}
            test = example(example=edge, **others)(test)
        return test

    return decorate





# -- 1 ------------------------------------------------------------------------------------------


@pytest.mark.device_sensitive
@with_edge_examples(mode=adapters.MODES)
@given(example=cases.examples(LAYER), mode=st.sampled_from(adapters.MODES))
def test_equals_reference(nonnegative_projection, device, example, mode):
    """float32 outputs equal relu(x @ W) @ B in float64, within the float32 tolerance scaled by
    the sum of absolute terms (cases.error_scale), in the drawn execution mode."""
    adapter = nonnegative_projection
    mode = cases.mode_for(adapter, mode)
    prop = "float32 outputs equal the reference"
    case = Case.of(adapter, prop, device, "float32", example, mode=mode)
    with tf.device(device.tf_name):
        outputs, _ = cases.run(adapter, example, mode)
    assert_close(
        outputs,
        cases.reference_outputs(example),
        case,
        tolerances.forward("float32", LAYER, prop),
        claim=f"the {mode} output equals relu(x @ W) @ B computed in float64",
        scale=cases.error_scale(example),
    )


# -- 2 ------------------------------------------------------------------------------------------


@pytest.mark.device_sensitive
@with_edge_examples()
@given(example=cases.examples(LAYER))
def test_coefficients_are_nonnegative(nonnegative_projection, device, example):
    """coefficients(x) = relu(x @ W) is >= 0 exactly (a ReLU's output needs no tolerance).

    Catches a missing or leaky activation; not ``abs`` (non-negative too: see the module
    docstring), which only the reference comparison sees."""
    adapter = nonnegative_projection
    case = Case.of(adapter, "the coefficients are non-negative", device, "float32", example)
    k = len(example.args[0])
    with tf.device(device.tf_name):
        layer = cases.make_layer(adapter, example)
        coefficients = np.asarray(adapter.method(layer, "coefficients")(tf.constant(example.inputs)))
    expected_shape = example.inputs.shape[:-1] + (k,)
    check(
        coefficients.shape == expected_shape,
        case,
        "coefficients(x) has shape (..., k)",
        f"got shape {coefficients.shape}, expected {expected_shape}",
    )
    bad = ~(coefficients >= 0)  # NaN counts as bad
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        check(
            False,
            case,
            "every coefficient is >= 0",
            f"{int(bad.sum())} of {bad.size} coefficient(s) are negative or NaN; the first at index "
            f"{first}: {float(coefficients[first]):.9g}; the smallest {float(np.nanmin(coefficients)):.9g}",
        )


# -- 3 ------------------------------------------------------------------------------------------


@pytest.mark.device_sensitive
@with_edge_examples()
@given(example=cases.examples(LAYER))
def test_output_lies_in_the_cone_of_the_basis_rows(nonnegative_projection, device, example):
    """Every output row y is c @ B for some c >= 0, judged from the output alone.

    Let E = (atol * scale + rtol * |y|) / (1 - rtol) be the elementwise bound on the float32
    error e = y - y_exact that property 1 guarantees (the 1 / (1 - rtol) turns |y_exact| into
    |y|), and y_exact = c_exact @ B with c_exact >= 0.

    * B of full row rank (k <= d) and cond(B) <= COND_LIMIT: the coefficients are unique;
      least squares gives c = y @ pinv(B) = c_exact + e @ pinv(B), so
      ``c >= -||E||_2 / sigma_min(B)`` and the reconstruction residual, e's component outside
      the row space, has ``||c @ B - y||_2 <= ||E||_2``. This sees ANY negative coefficient
      (missing ReLU) and any output outside the span (ReLU after the reconstruction).
    * Otherwise (k > d, rank-deficient, duplicate or zero rows, or cond(B) > COND_LIMIT, where
      the bound above grows with cond(B) and the coefficients are not unique): NNLS gives
      ``min over c >= 0 of ||c @ B - y||_2 <= ||y_exact - y||_2 <= ||E||_2``: a residual bound
      that does not grow with cond(B), so it stays tight for ill-conditioned bases.

    Both bounds add SOLVER_SLACK for float64 rounding. ``abs`` instead of ``relu`` passes here
    (its output is in the cone); a missing ReLU passes where the cone is the whole space.
    """
    adapter = nonnegative_projection
    prop = "the output lies in the cone of the basis rows"
    case = Case.of(adapter, prop, device, "float32", example)
    tolerance = tolerances.forward("float32", LAYER, prop)
    basis = _basis(example)
    k, d = basis.shape
    with tf.device(device.tf_name):
        outputs, _ = cases.run(adapter, example)
    expected_shape = example.inputs.shape[:-1] + (d,)
    check(
        outputs.shape == expected_shape,
        case,
        "the output has shape (..., d)",
        f"got shape {outputs.shape}, expected {expected_shape}",
    )
    check(np.all(np.isfinite(outputs)), case, "the output is finite", "got non-finite values")
    y = outputs.astype(np.float64).reshape(-1, d)
    scale = np.broadcast_to(cases.error_scale(example), outputs.shape).reshape(-1, d)
    bound = np.linalg.norm((tolerance.atol * scale + tolerance.rtol * np.abs(y)) / (1 - tolerance.rtol), axis=1)

    failure = cone_violation(y, basis, bound)
    if failure is not None:
        check(False, case, *failure)


def cone_violation(y, basis, bound):
    """``None`` if every row of ``y`` (m, d) is within ``bound`` (m,) of the cone of the rows
    of ``basis`` (k, d) as test 3's docstring derives, else ``(claim, details)``."""
    k, d = basis.shape
    singular_values = np.linalg.svd(basis, compute_uv=False)
    sigma_max, sigma_min = singular_values[0], singular_values[-1]
    well_posed = k <= d and sigma_min > 0 and sigma_max <= COND_LIMIT * sigma_min
    condition = sigma_max / sigma_min if sigma_min > 0 else np.inf
    conditioning = f"basis {k}x{d}, cond(B) = {condition:.3g}, sigma_min = {sigma_min:.3g}"

    if well_posed:
        event("cone check: least squares (unique coefficients)")
        coefficients = np.linalg.lstsq(basis.T, y.T, rcond=None)[0].T
        norms = np.linalg.norm(coefficients, axis=1)
        allowed = bound / sigma_min + SOLVER_SLACK * np.maximum(norms, 1.0)
        excess = -coefficients.min(axis=1) - allowed
        row = int(np.argmax(excess))
        if excess[row] > 0:
            return (
                "the unique coefficients of each output row in the basis are >= 0",
                f"{conditioning}; least squares\n"
                f"row {row} (of the output reshaped to (-1, d)): most negative coefficient "
                f"{coefficients[row].min():.9g} at {int(np.argmin(coefficients[row]))}, allowed down to "
                f"{-allowed[row]:.3g} (= ||E||_2 / sigma_min + slack; ||E||_2 = {bound[row]:.3g})\n"
                f"{int((excess > 0).sum())} of {len(excess)} row(s) fail",
            )
        residual = np.linalg.norm(coefficients @ basis - y, axis=1)
        allowed = bound + SOLVER_SLACK * (sigma_max * norms + np.linalg.norm(y, axis=1) + 1.0)
        row = int(np.argmax(residual - allowed))
        if residual[row] > allowed[row]:
            return (
                "each output row is a combination of the basis rows (lies in their span)",
                f"{conditioning}; least squares\n"
                f"row {row}: ||c @ B - y||_2 = {residual[row]:.9g}, allowed {allowed[row]:.3g} (= ||E||_2 + slack)\n"
                f"{int((residual > allowed).sum())} of {len(residual)} row(s) fail",
            )
        return None

    event("cone check: NNLS residual")
    residual = np.empty(len(y))
    allowed = np.empty(len(y))
    for row, target in enumerate(y):
        coefficients, _ = scipy.optimize.nnls(basis.T, target, maxiter=100 * max(k, 10))
        residual[row] = np.linalg.norm(coefficients @ basis - target)
        allowed[row] = bound[row] + SOLVER_SLACK * (
            sigma_max * np.linalg.norm(coefficients) + np.linalg.norm(target) + 1.0
        )
    row = int(np.argmax(residual - allowed))
    if residual[row] > allowed[row]:
        return (
            "each output row is a non-negative combination of the basis rows",
            f"{conditioning}; NNLS\n"
            f"row {row} (of the output reshaped to (-1, d)): distance to the cone "
            f"min_(c >= 0) ||c @ B - y||_2 = {residual[row]:.9g}, allowed {allowed[row]:.3g} "
            f"(= ||E||_2 + slack, E the float32 error bound)\n"
            f"{int((residual > allowed).sum())} of {len(residual)} row(s) fail",
        )
    return None


# -- 4 ------------------------------------------------------------------------------------------


@pytest.mark.device_sensitive
@with_edge_examples()
@given(example=cases.examples(LAYER))
def test_output_equals_coefficients_times_basis(nonnegative_projection, device, example):
    """layer(x) == coefficients(x) @ basis_vectors (the layer's own weight).

    Both sides carry float32 rounding of x @ W and of the product with B: the float32
    tolerance with cases.error_scale bounds their difference. Catches an activation applied
    after the reconstruction and a call that does not use its own coefficients or basis."""
    adapter = nonnegative_projection
    prop = "the output equals coefficients(x) @ basis_vectors"
    case = Case.of(adapter, prop, device, "float32", example)
    with tf.device(device.tf_name):
        layer = cases.make_layer(adapter, example)
        outputs, _ = cases.run(adapter, example, layer=layer)
        coefficients = np.asarray(adapter.method(layer, "coefficients")(tf.constant(example.inputs)))
    basis = adapter.weight(layer, "basis_vectors").astype(np.float64)
    assert_close(
        outputs,
        coefficients.astype(np.float64) @ basis,
        case,
        tolerances.forward("float32", LAYER, prop),
        claim="layer(x) equals coefficients(x) @ basis_vectors",
        scale=cases.error_scale(example),
    )


# -- 5 ------------------------------------------------------------------------------------------


@pytest.mark.device_sensitive
@pytest.mark.parametrize("family", list(FAMILIES))
@given(data=st.data())
def test_every_basis_shape_works(nonnegative_projection, device, family, data):
    """Each basis family builds, gives outputs of shape (..., d) and equals the reference.

    The family is in the test id, so a family-specific failure names itself."""
    adapter = nonnegative_projection
    prop = "every basis shape works"
    example = data.draw(cases.examples(LAYER, basis=FAMILIES[family]()), label="example")
    case = Case.of(adapter, prop, device, "float32", example, family=family)
    d = len(example.args[0][0])
    with tf.device(device.tf_name):
        outputs, _ = cases.run(adapter, example)
    expected_shape = example.inputs.shape[:-1] + (d,)
    check(
        outputs.shape == expected_shape,
        case,
        "the output has shape (..., d)",
        f"got shape {outputs.shape}, expected {expected_shape} for inputs {example.inputs.shape} and a basis "
        f"{len(example.args[0])}x{d}",
    )
    assert_close(
        outputs,
        cases.reference_outputs(example),
        case,
        tolerances.forward("float32", LAYER, prop),
        claim=f"the output for a {family} basis equals relu(x @ W) @ B computed in float64",
        scale=cases.error_scale(example),
    )


# -- 6 ------------------------------------------------------------------------------------------

#: Optimizers and learning rates of test 6. With a gradient entry of at least
#: MIN_GRADIENT, SGD moves that weight by >= 1e-3 and Adam by ~lr = 1e-2: far more than a
#: float32 ulp of |W| <= 2 (2.4e-7), so "projection_weights moved" cannot fail by rounding.
OPTIMIZERS = {"sgd": 0.1, "adam": 1e-2}
MIN_GRADIENT = 1e-2
TRAINING_STEPS = 3


@pytest.mark.keras_only("Keras optimizers, tf.GradientTape and trainable_weights")
@pytest.mark.device_sensitive
@with_edge_examples(optimizer_name=sorted(OPTIMIZERS), target_seed=(0,))
@given(
    example=cases.examples(LAYER),
    optimizer_name=st.sampled_from(sorted(OPTIMIZERS)),
    target_seed=lcst.seeds(),
)
def test_basis_never_changes_under_training_and_gets_no_gradient(
    nonnegative_projection, device, example, optimizer_name, target_seed
):
    """The basis is a constant of the layer: not trainable, absent from the gradients, and
    bit-identical to the constructor's values after optimizer steps that did move W.

    Examples whose reference gradient for W is (nearly) zero (dead ReLUs, zero basis rows)
    are skipped: there, "W moved and B did not" would say nothing."""
    adapter = nonnegative_projection
    prop = "the basis never changes under training and gets no gradient"
    case = Case.of(
        adapter,
        prop,
        device,
        "float32",
        example,
        optimizer=optimizer_name,
        target_seed=target_seed,
    )
    basis_given = np.asarray(example.args[0], dtype=np.float32)
    inputs = example.inputs
    target = np.random.default_rng(target_seed).standard_normal(inputs.shape[:-1] + basis_given.shape[1:])
    target = target.astype(np.float32)
    # The first step's gradient of 0.5 * ||y - target||^2 for W (the reference VJP with the
    # cotangent y - target), counting only the coefficients that are positive beyond float32
    # rounding: one within it may be 0 in float32 (a subnormal x @ W is flushed to zero), and
    # relu'(0) = 0 passes no gradient.
    x_seen = cases.as_seen(inputs, "float32")
    w_seen = cases.as_seen(example.weights["projection_weights"], "float32")
    tolerance = tolerances.forward("float32", LAYER, prop)
    margin = tolerance.atol * np.maximum(np.abs(x_seen) @ np.abs(w_seen), 1.0)
    surely_active = reference.pre_activations(x_seen, w_seen) > margin
    d_coefficients = ((cases.reference_outputs(example) - target) @ basis_given.astype(np.float64).T) * surely_active
    reference_gradient = x_seen.reshape(-1, x_seen.shape[-1]).T @ d_coefficients.reshape(-1, d_coefficients.shape[-1])
    live = np.abs(reference_gradient).max() >= MIN_GRADIENT
    event(f"training example: {'live' if live else 'dead (skipped)'} gradient")
    assume(live)

    with tf.device(device.tf_name):
        layer = cases.make_layer(adapter, example)
        basis = adapter.variable(layer, "basis_vectors")
        check(
            not getattr(basis, "trainable", False),
            case,
            "basis_vectors is not trainable",
            f"basis_vectors.trainable is {getattr(basis, 'trainable', None)!r}",
        )
        check(
            all(variable is not basis for variable in layer.trainable_weights),
            case,
            "basis_vectors is not among the layer's trainable weights",
            f"trainable weights: {[getattr(v, 'path', getattr(v, 'name', v)) for v in layer.trainable_weights]}",
        )
        gradients = adapter.gradients(layer, inputs, np.ones(target.shape, np.float32))
        check(
            "basis_vectors" not in gradients and gradients.get("projection_weights") is not None,
            case,
            "the gradients are for the inputs and projection_weights only: none for the basis",
            f"gradients for: {sorted(name for name, value in gradients.items() if value is not None)}",
        )
        basis_before = adapter.weight(layer, "basis_vectors")
        weights_before = adapter.weight(layer, "projection_weights")

        if optimizer_name == "sgd":
            optimizer = keras.optimizers.SGD(learning_rate=OPTIMIZERS["sgd"])
        else:
            optimizer = keras.optimizers.Adam(learning_rate=OPTIMIZERS["adam"])
        x = tf.constant(inputs)
        t = tf.constant(target)
        trainable = list(layer.trainable_weights)
        for _ in range(TRAINING_STEPS):
            # The tape watches what it watches by itself (trainable variables): the basis, read
            # in the call, must get no gradient from it.
            with tf.GradientTape() as tape:
                loss = 0.5 * tf.reduce_sum(tf.square(layer(x) - t))
            *step, basis_gradient = tape.gradient(loss, [*trainable, basis])
            check(
                basis_gradient is None,
                case,
                "a GradientTape over a training step gives the basis no gradient",
                f"got a gradient for basis_vectors: {basis_gradient!r}",
            )
            optimizer.apply_gradients(zip(step, trainable))

        basis_after = adapter.weight(layer, "basis_vectors")
        weights_after = adapter.weight(layer, "projection_weights")

    check(
        basis_before.shape == basis_given.shape,
        case,
        "the built basis has the constructor's shape (k, d)",
        f"got shape {basis_before.shape}, expected {basis_given.shape}",
    )
    check(
        np.array_equal(basis_before, basis_given),
        case,
        "the built basis holds the constructor's values (as float32)",
        f"{int(np.sum(basis_before != basis_given))} of {basis_given.size} value(s) differ",
    )
    check(
        not np.array_equal(weights_after, weights_before),
        case,
        f"{TRAINING_STEPS} {optimizer_name} steps move projection_weights (the training did something)",
        f"projection_weights unchanged although the reference gradient reaches {np.abs(reference_gradient).max():.3g}",
    )
    changed = basis_after.view(np.uint32) != basis_before.view(np.uint32)
    check(
        not changed.any(),
        case,
        f"the basis is bit-identical after {TRAINING_STEPS} {optimizer_name} steps",
        f"{int(changed.sum())} of {changed.size} basis value(s) changed; largest change "
        f"{np.abs(basis_after - basis_before).max():.3g}",
    )


# -- 7 ------------------------------------------------------------------------------------------

#: Rows of standard-normal input in test 7. A live (non-zero) column of W gives a positive
#: coefficient for each row with probability 1/2, so a correct layer fails by chance with
#: probability 2**-64 at most.
ALIVE_ROWS = 64


@pytest.mark.device_sensitive
@given(
    basis=lcst.bases(max_k=64, max_d=64),
    features=lcst.feature_sizes(max_size=64),
    rank3=st.booleans(),
    seed=lcst.seeds(),
)
def test_freshly_built_layer_is_alive(nonnegative_projection, device, basis, features, rank3, seed):
    """With its default initializer (no weights assigned), the layer gives some positive
    coefficient for a batch of standard-normal inputs: an all-zero (dead) initialisation
    would make every output zero whatever the input, and no gradient could revive it."""
    adapter = nonnegative_projection
    shape = (4, ALIVE_ROWS // 4, features) if rank3 else (ALIVE_ROWS, features)
    inputs = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    case = Case(
        adapter.contract.class_name,
        "a freshly built layer is alive",
        device.name,
        "float32",
        {"basis": basis, "inputs": inputs, "seed": seed},
    )
    with tf.device(device.tf_name):
        keras.utils.set_random_seed(seed)
        layer = adapter.build(adapter.make(basis.tolist()), shape)
        coefficients = np.asarray(adapter.method(layer, "coefficients")(tf.constant(inputs)))
    check(
        np.any(coefficients > 0),
        case,
        "some coefficient is positive for standard-normal inputs",
        f"all {coefficients.size} coefficients are <= 0 (max {np.nanmax(coefficients) if coefficients.size else '-'}); "
        f"projection_weights at init: min {adapter.weight(layer, 'projection_weights').min():.3g}, "
        f"max {adapter.weight(layer, 'projection_weights').max():.3g}",
    )


#: Property 8 checks one constructed case per example; the generic gradient properties cover
#: the examples' whole range.
a_third = profiles.scaled(0.3, "one constructed case per example; the generic gradient properties cover the range")
GRADIENT_DTYPES = ("float32", "float64")
modes = st.sampled_from(adapters.MODES)


# -- 8 -------------------------------------------------------------------------------------------


@pytest.mark.device_sensitive
@a_third
@given(data=st.data())
def test_relu_at_exactly_zero_has_value_zero_and_gradient_zero(nonnegative_projection, device, data):
    """Pre-activations that are exactly 0 in any dtype and summation order (a zero input row,
    a zero weight column, 1 - 1): coefficients exactly 0, and exactly 0 gradient for the row
    and the column, with the whole gradient equal to the reference's (relu'(0) = 0)."""
    example = data.draw(cases.examples(LAYER), label="example")
    dtype = data.draw(st.sampled_from(GRADIENT_DTYPES), label="dtype")
    mode = cases.mode_for(nonnegative_projection, data.draw(modes, label="mode"))
    seed = data.draw(lcst.seeds(), label="cotangent seed")
    checks.check_relu_at_exactly_zero(
        nonnegative_projection, example, dtype=dtype, mode=mode, seed=seed, device=device
    )


# -- 9 -------------------------------------------------------------------------------------------


@pytest.mark.keras_only("a Keras dtype policy (mixed_float16)")
@given(magnitude=st.floats(min_value=65520.0, max_value=3e38), sign=st.sampled_from([1.0, -1.0]))
def test_a_basis_entry_beyond_the_compute_dtype_is_rejected(nonnegative_projection, magnitude, sign):
    """Under ``mixed_float16`` the basis is cast to float16 in the call: an entry beyond 65504
    would be inf there (NaN outputs), so the constructor refuses it; 65504 itself is valid."""
    nonnegative_projection.make([[1.0, sign * 65504.0]], dtype="mixed_float16")  # float16's largest: valid
    basis = [[1.0, sign * magnitude], [0.5, 0.25]]
    case = Case("NonNegativeProjection", "a basis the compute dtype cannot hold is rejected", params={"entry": sign * magnitude})
    expect_clear_error(
        case,
        f"a basis entry of {sign * magnitude!r} under mixed_float16 raises a clear error",
        lambda: nonnegative_projection.make(basis, dtype="mixed_float16"),
        "basis_vectors",
    )


# -- 10 ------------------------------------------------------------------------------------------


@given(
    kind=st.sampled_from(["bool", "complex", "beyond float32"]),
    k=st.integers(1, 3),
    d=st.integers(1, 3),
    magnitude=st.floats(min_value=3.5e38, max_value=1e300),
)
def test_a_basis_of_bools_complex_numbers_or_entries_beyond_the_variable_dtype_is_rejected(nonnegative_projection, kind, k, d, magnitude):
    """A basis of ``bool`` or complex entries (not real numbers), or a float32 layer's basis with
    an entry beyond float32's largest finite value (inf once stored), is refused at
    construction with a clear ``TypeError`` or ``ValueError`` naming the basis; float32's
    largest finite value itself is valid."""
    if kind == "bool":
        basis = np.ones((k, d), dtype=bool)
    elif kind == "complex":
        basis = np.ones((k, d), dtype=np.complex128)
    else:
        basis = np.ones((k, d), dtype=np.float64)
        basis[-1, -1] = magnitude
        largest = np.ones((k, d), dtype=np.float64)
        largest[-1, -1] = float(np.finfo(np.float32).max)
        nonnegative_projection.make(largest, dtype="float32")  # float32's largest: valid
    case = Case("NonNegativeProjection", "a basis that is not real or that float32 cannot hold is rejected", params={"kind": kind, "shape": (k, d), "entry": magnitude if kind == "beyond float32" else None})
    expect_clear_error(
        case,
        f"a basis of {kind} entries raises a clear error naming the basis" if kind != "beyond float32" else f"a basis entry of {magnitude!r} in a float32 layer raises a clear error naming the basis",
        lambda: nonnegative_projection.make(basis, dtype="float32"),
        "basis",
    )
