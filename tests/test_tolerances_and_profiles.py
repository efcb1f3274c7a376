"""The tolerance table and the Hypothesis profiles."""

import re
from pathlib import Path

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


def _docs_tables():
    """The tables of docs/README.md's "The tolerance table", by the code name that introduces
    each (the last backticked name of the text line before it): {name: [body row cells]}."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "README.md").read_text()
    section = text.split("## The tolerance table", 1)[1].split("\n## ", 1)[0]
    tables, name, text_line, previous = {}, None, "", ""
    for line in section.splitlines():
        if line.startswith("|") and not previous.startswith("|"):
            name = re.findall(r"`(\w+)`", text_line)[-1]
            tables[name] = []
        elif line.startswith("|") and not line.startswith("| ---"):
            tables[name].append([cell.strip().strip("`").replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]])
        elif line.strip():
            text_line = line
        previous = line
    return tables


def test_the_tolerance_tables_of_the_docs_are_the_code():
    tables = _docs_tables()
    assert set(tables) == {"FORWARD", "GRADIENT", "PROPERTY_OVERRIDES"}, sorted(tables)
    for name in ("FORWARD", "GRADIENT"):
        code = getattr(tolerances, name)
        documented = {row[0]: (float(row[1]), float(row[2]), row[3]) for row in tables[name]}
        assert documented == {dtype: (entry.rtol, entry.atol, entry.reason) for dtype, entry in code.items()}, name
    documented = {(row[0], row[1]): (float(row[2]), float(row[3])) for row in tables["PROPERTY_OVERRIDES"]}
    assert documented == {key: (entry.rtol, entry.atol) for key, entry in tolerances.PROPERTY_OVERRIDES.items()}
