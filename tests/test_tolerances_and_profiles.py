"""The tolerance table and the Hypothesis profiles."""

import pytest
from hypothesis import settings

from layercheck import profiles, tolerances


@pytest.mark.parametrize("table", [tolerances.FORWARD, tolerances.GRADIENT])
def test_every_dtype_has_an_entry_with_a_reason(table):
    assert set(table) == set(tolerances.COMPUTE_DTYPES)
    assert all(entry.reason for entry in table.values())


def test_forward_tolerances_are_no_looser_than_the_agreed_floor():
    assert tolerances.FORWARD["float32"].rtol <= 1e-5
    assert tolerances.FORWARD["float64"].rtol <= 1e-12


def test_every_override_has_a_reason():
    assert all(entry.reason for entry in tolerances.PROPERTY_OVERRIDES.values())


def test_unknown_dtype_is_a_clear_error():
    with pytest.raises(ValueError, match=r"no tolerance for dtype 'int8'"):
        tolerances.forward("int8")


@pytest.mark.parametrize(("ci", "expected"), [("true", "ci"), ("1", "ci"), ("", "dev"), ("false", "dev")])
def test_default_profile_follows_the_ci_variable(monkeypatch, ci, expected):
    monkeypatch.setenv("CI", ci)
    assert profiles.default_profile() == expected


def test_profiles_have_no_deadline_and_ci_is_derandomized():
    profiles.register()
    for name in profiles.PROFILES:
        assert settings.get_profile(name).deadline is None
    assert settings.get_profile("ci").derandomize
    assert settings.get_profile("ci").database is None
    assert settings.get_profile("thorough").max_examples > settings.get_profile("ci").max_examples


def test_scaled_needs_a_reason_and_keeps_at_least_three_examples():
    with pytest.raises(ValueError, match="needs a reason"):
        profiles.scaled(0.5, "")
    assert profiles.scaled(0.0001, "because").max_examples == 3
