"""The failure report: what a user reads when a property fails."""

import numpy as np
import pytest

from layercheck.assertions import Case, PropertyFailure, assert_close, check
from layercheck.tolerances import Tolerance

TIGHT = Tolerance(rtol=1e-6, atol=1e-9, reason="the reason printed with the tolerance")
CASE = Case("TemperatureSoftmax", "rows sum to one", "CPU:1", "float32", {"temperature": 0.5, "inputs": np.zeros((2, 3))})


def test_close_values_pass():
    assert_close(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-7]), CASE, TIGHT, claim="c")


def test_report_names_layer_property_device_dtype_parameters_worst_element_and_rerun():
    actual = np.array([[1.0, 2.0], [3.0, 4.5]])
    expected = np.array([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(PropertyFailure) as failure:
        assert_close(actual, expected, CASE, TIGHT, claim="the output equals the reference")
    report = str(failure.value)
    assert report.startswith("TemperatureSoftmax: property 'rows sum to one' failed on CPU:1 in float32")
    assert "claim: the output equals the reference" in report
    assert "1 of 4 element(s) differ beyond rtol=1e-06, atol=1e-09" in report
    assert "largest absolute difference 0.5 at index (1, 1): got 4.5, expected 4" in report
    assert "temperature=0.5" in report and "inputs=array(shape=(2, 3)" in report
    assert "tolerance: the reason printed with the tolerance" in report
    # The plugin's rerun line: this test by its path from where pytest started (relative below
    # it, absolute above), with the run's profile.
    rerun = next(line for line in report.splitlines() if "rerun:" in line)
    assert rerun.strip().startswith("rerun: pytest "), rerun
    assert "tests/test_assertions.py::test_report_names_layer_property" in rerun and "--hypothesis-profile=" in rerun, rerun


def test_scale_widens_the_absolute_tolerance_only_where_terms_were_large():
    expected = np.array([0.0, 0.0])
    actual = np.array([1e-7, 1e-7])
    assert_close(actual, expected, CASE, TIGHT, claim="c", scale=np.array([1e3, 1e3]))
    with pytest.raises(PropertyFailure, match="1 of 2 element"):
        assert_close(actual, expected, CASE, TIGHT, claim="c", scale=np.array([1e3, 1.0]))


def test_nan_is_never_close():
    with pytest.raises(PropertyFailure, match=r"1 non-finite value\(s\) where the reference is finite; first at index \(1,\)"):
        assert_close(np.array([1.0, np.nan]), np.array([1.0, 1.0]), CASE, TIGHT, claim="c")


def test_shape_mismatch_is_reported_before_values():
    with pytest.raises(PropertyFailure, match=r"shape: got \(2,\), expected \(3,\)"):
        assert_close(np.zeros(2), np.zeros(3), CASE, TIGHT, claim="c")


def test_check_reports_the_claim_and_details():
    check(True, CASE, "never shown")
    with pytest.raises(PropertyFailure, match=r"(?s)claim: T stays positive.*T = -1"):
        check(False, CASE, "T stays positive", "T = -1")
