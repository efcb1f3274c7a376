"""Assertion helpers whose failure messages read like the specification.

Every failure names the layer, the property, the device, the dtype, the parameters, the
largest difference and where it is, and the command that reruns exactly that case.
"""

import dataclasses
import os
import re

import numpy as np


class PropertyFailure(AssertionError):
    """A property of a layer does not hold. The message is the whole report."""


@dataclasses.dataclass
class Case:
    """What is under test in one example: printed at the top of every failure."""

    layer: str
    prop: str
    device: str = ""
    dtype: str = "float32"
    params: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def of(cls, adapter, prop, device, dtype, example=None, **extra):
        """The case of ``example`` under ``adapter`` (its spec names the layer), with ``extra``
        parameters (the mode, a cotangent seed...) after the example's own."""
        from layercheck.devices import name_of

        params = example.params() if example is not None else {}
        params.update(extra)
        return cls(adapter.spec.class_name, prop, name_of(device), dtype, params)

    def header(self):
        where = f" on {self.device}" if self.device else ""
        return f"{self.layer}: property '{self.prop}' failed{where} in {self.dtype}"

    def describe_params(self):
        parts = []
        for name, value in self.params.items():
            if isinstance(value, np.ndarray):
                value = f"array(shape={value.shape}, dtype={value.dtype}, min={_fmt(value.min())}, max={_fmt(value.max())})"
            parts.append(f"{name}={value}")
        return ", ".join(parts) if parts else "(none)"


def fail(case, claim, details=""):
    """Raise :class:`PropertyFailure` with the standard report."""
    lines = [case.header(), f"  claim: {claim}"]
    if details:
        lines.extend(f"  {line}" for line in details.rstrip().splitlines())
    lines.append(f"  parameters: {case.describe_params()}")
    lines.append(f"  rerun: {rerun_command()}")
    raise PropertyFailure("\n".join(lines))


def check(condition, case, claim, details=""):
    """Fail with ``claim`` unless ``condition`` is true."""
    if not bool(condition):
        fail(case, claim, details)


def assert_close(actual, expected, case, tolerance, *, claim, scale=1.0):
    """``|actual - expected| <= tolerance.atol * scale + tolerance.rtol * |expected|`` elementwise.

    ``scale`` (scalar or broadcastable array) is the magnitude of the terms the value was
    summed from; see :mod:`layercheck.tolerances`.
    """
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        fail(case, claim, f"shape: got {actual.shape}, expected {expected.shape}")
    nonfinite = ~np.isfinite(actual) & np.isfinite(expected)
    if nonfinite.any():
        index = _first_index(nonfinite)
        fail(
            case,
            claim,
            f"{int(nonfinite.sum())} non-finite value(s) where the reference is finite; "
            f"first at index {index}: got {actual[index]!r}, expected {_fmt(expected[index])}",
        )
    difference = np.abs(actual - expected)
    allowed = tolerance.atol * np.broadcast_to(scale, expected.shape) + tolerance.rtol * np.abs(expected)
    bad = ~(difference <= allowed)
    if not bad.any():
        return
    worst = _first_index(difference == difference.max())
    with np.errstate(over="ignore", divide="ignore"):  # a relative difference may be inf
        relative = difference / np.maximum(np.abs(expected), np.finfo(np.float64).tiny)
    worst_relative = _first_index(relative == relative.max())
    details = (
        f"{int(bad.sum())} of {bad.size} element(s) differ beyond rtol={tolerance.rtol:g}, "
        f"atol={tolerance.atol:g} (x scale, largest scale {_fmt(np.max(scale))})\n"
        f"largest absolute difference {_fmt(difference[worst])} at index {worst}: "
        f"got {_fmt(actual[worst])}, expected {_fmt(expected[worst])}\n"
        f"largest relative difference {_fmt(relative[worst_relative])} at index {worst_relative}\n"
        f"tolerance: {tolerance.reason}"
    )
    fail(case, claim, details)


#: The errors a bad argument or input may raise.
ARGUMENT_ERRORS = (ValueError, TypeError)
#: A readable error message: a line or three, whatever the size of the bad value.
MAX_MESSAGE = 400

#: What a plain-text message must not hold: terminal escape codes (Keras wraps errors raised in
#: ``call`` in ``\x1b[1m``...) and other control characters but newline and tab.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def expect_clear_error(case, claim, action, *names, errors=ARGUMENT_ERRORS):
    """``action()`` must raise one of ``errors`` whose message contains one of ``names`` and
    stays under :data:`MAX_MESSAGE` characters; returns the message."""
    try:
        action()
    except errors as error:
        message = str(error)
        check(any(name in message for name in names), case, claim, f"the message does not name {names}: {message!r}")
        check(
            not CONTROL_CHARACTERS.search(message),
            case,
            f"{claim}: the message is plain text",
            f"it holds control characters (terminal escape codes?): {message[:200]!r}",
        )
        check(
            len(message) <= MAX_MESSAGE,
            case,
            f"{claim}: the message stays under {MAX_MESSAGE} characters",
            f"{len(message)} characters: {message[:200]!r}...",
        )
        return message
    except Exception as error:  # noqa: BLE001 - any other error is the failure being reported
        fail(case, claim, f"raised {type(error).__name__} instead of {' or '.join(e.__name__ for e in errors)}: {error}")
    fail(case, claim, "no error was raised")


#: The rerun command of the test now running, set by the pytest plugin (which knows the run's
#: options, the implementation under test among them, and where the user started pytest).
current_rerun = None


def rerun_command():
    """The command that reruns the current test exactly (under the same profile)."""
    if current_rerun:
        return (
            f"{current_rerun}  (the same profile replays the same examples; Hypothesis also prints a "
            "@reproduce_failure blob under the ci and thorough profiles)"
        )
    node = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
    if not node:
        return "(not running under pytest)"
    return f"pytest '{node}' -n 0 (run it from pytest's root directory, with the same options)"


def short_repr(value, limit=120):
    """``repr(value)`` cut to ``limit`` characters; a list (a basis can be 256 x 256) as its
    shape, without building the whole repr first."""
    if isinstance(value, list):
        try:
            return f"<{'x'.join(str(side) for side in np.shape(value))} list>"
        except ValueError:  # ragged: no shape
            return f"<ragged list of {len(value)}>"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _first_index(mask):
    indices = np.argwhere(mask)
    return tuple(int(i) for i in indices[0]) if indices.size else ()


def _fmt(value):
    return f"{float(value):.9g}"
