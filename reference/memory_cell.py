"""Reference for ``MemoryCellLayer``: a tanh cell whose state persists across calls.

Layer: ``MemoryCellLayer(units)``.

Shapes
    inputs           x: ``(batch, n)``, rank exactly 2.
    kernel           K: ``(n, units)``, trainable.
    recurrent_kernel R: ``(units, units)``, trainable.
    state            S: ``(batch, units)``, a NON-trainable variable.
    output / new state: ``(batch, units)``.

One call
    new_state = tanh(x @ K + S @ R)
    the layer's state becomes new_state, and the call returns new_state.

State semantics
    The state is zeros when the layer is built; it persists from one call to the next (so a
    fixed batch size across calls); ``reset_state()`` sets it back to zeros.  T calls with
    inputs x[0], ..., x[T-1] therefore run
        state = initial state (zeros unless given)
        for t in range(T):  state = tanh(x[t] @ K + state @ R);  outputs[t] = states[t] = state

Gradient convention (a porter MUST copy it)
    Inside a call the state is read from a non-trainable variable: it is a CONSTANT.  No
    gradient flows into the previous state, hence none into earlier calls.  For one call, with
    a = x @ K + S @ R, h = tanh(a), g the cotangent of h and ga = g * (1 - h**2):
        dL/dx = ga @ K.T,   dL/dK = x.T @ ga,   dL/dR = S.T @ ga.
    When several calls are recorded on ONE gradient tape, the gradient with respect to K and R
    is the SUM of the per-call VJPs, each taken with its own previous state held constant:
    truncated backpropagation through time with a window of one call.  The gradient with
    respect to the inputs of call t is that call's own dL/dx.  (Full backpropagation through
    time would add terms through S[t-1] -> S[t-2] -> ...; the layer does not.)
"""

import numpy as np


def _check_step(x, s, k, r):
    if x.ndim != 2:
        raise ValueError(f"inputs must have rank 2 (batch, n), got shape {x.shape}")
    if k.ndim != 2 or k.shape[0] != x.shape[1]:
        raise ValueError(f"kernel must have shape (n, units) with n = {x.shape[1]}, got shape {k.shape}")
    units = k.shape[1]
    if r.shape != (units, units):
        raise ValueError(f"recurrent_kernel must have shape {(units, units)}, got shape {r.shape}")
    if s.shape != (x.shape[0], units):
        raise ValueError(f"state must have shape (batch, units) = {(x.shape[0], units)}, got shape {s.shape}")


def _initial_state(xs, k, initial_state):
    """Checks the sequence's shapes; returns the state before call 0 (zeros by default)."""
    if xs.ndim != 3 or xs.shape[0] < 1:
        raise ValueError(f"inputs_sequence must have rank 3 (T, batch, n) with T >= 1, got shape {xs.shape}")
    if k.ndim != 2:
        raise ValueError(f"kernel must have rank 2 (n, units), got shape {k.shape}")
    shape = (xs.shape[1], k.shape[1])
    if initial_state is None:
        return np.zeros(shape)
    s = np.asarray(initial_state, dtype=np.float64)
    if s.shape != shape:
        raise ValueError(f"initial_state must have shape (batch, units) = {shape}, got shape {s.shape}")
    return s


def memory_cell(inputs, state, kernel, recurrent_kernel):
    """One call: tanh(x @ K + S @ R), shape (batch, units); it is also the new state."""
    x, s, k, r = (np.asarray(a, dtype=np.float64) for a in (inputs, state, kernel, recurrent_kernel))
    _check_step(x, s, k, r)
    return np.tanh(x @ k + s @ r)


def memory_cell_sequence(inputs_sequence, kernel, recurrent_kernel, initial_state=None):
    """T calls in order. Returns ``(outputs, states)``, both (T, batch, units).

    ``outputs[t]`` is what call t returns, ``states[t]`` the state after call t (equal by
    definition; separate arrays).  ``initial_state`` defaults to zeros (batch, units).
    """
    xs = np.asarray(inputs_sequence, dtype=np.float64)
    k = np.asarray(kernel, dtype=np.float64)
    state = _initial_state(xs, k, initial_state)
    outputs = []
    for x in xs:
        state = memory_cell(x, state, k, recurrent_kernel)
        outputs.append(state)
    outputs = np.stack(outputs)
    return outputs, outputs.copy()


def memory_cell_vjp(inputs, state, kernel, recurrent_kernel, cotangent):
    """Returns ``(d_inputs, d_kernel, d_recurrent_kernel)`` for ONE call; ``state`` is a constant."""
    x, s, k, r, g = (np.asarray(a, dtype=np.float64) for a in (inputs, state, kernel, recurrent_kernel, cotangent))
    _check_step(x, s, k, r)
    if g.shape != s.shape:
        raise ValueError(f"cotangent must have shape (batch, units) = {s.shape}, got shape {g.shape}")
    h = np.tanh(x @ k + s @ r)
    ga = g * (1.0 - h**2)
    return ga @ k.T, x.T @ ga, s.T @ ga


def memory_cell_sequence_vjp(inputs_sequence, kernel, recurrent_kernel, cotangents, initial_state=None):
    """Returns ``(d_inputs_sequence, d_kernel, d_recurrent_kernel)`` for T calls on one tape.

    ``cotangents[t]`` is the cotangent of call t's output, shape (T, batch, units).  Truncated
    BPTT with a window of one call: the sum over t of ``memory_cell_vjp`` at call t with its
    previous state held constant; ``d_inputs_sequence[t]`` is call t's own d_inputs.
    """
    xs = np.asarray(inputs_sequence, dtype=np.float64)
    k = np.asarray(kernel, dtype=np.float64)
    r = np.asarray(recurrent_kernel, dtype=np.float64)
    gs = np.asarray(cotangents, dtype=np.float64)
    first = _initial_state(xs, k, initial_state)
    expected = xs.shape[:2] + (k.shape[1],)
    if gs.shape != expected:
        raise ValueError(f"cotangents must have shape (T, batch, units) = {expected}, got shape {gs.shape}")
    _, states = memory_cell_sequence(xs, k, r, first)
    previous_states = [first] + list(states[:-1])
    d_inputs, d_kernel, d_recurrent_kernel = [], np.zeros_like(k), np.zeros_like(r)
    for x, s, g in zip(xs, previous_states, gs):
        dx, dk, dr = memory_cell_vjp(x, s, k, r, g)
        d_inputs.append(dx)
        d_kernel += dk
        d_recurrent_kernel += dr
    return np.stack(d_inputs), d_kernel, d_recurrent_kernel
