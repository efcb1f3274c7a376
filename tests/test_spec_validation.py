"""A spec that contradicts itself is refused when it is made, with a message that says how."""

import dataclasses

import pytest

from layercheck import registry
from layercheck.gradients import GradientModel
from layercheck.spec import KINKS, STATEFUL, LayerSpec, Skip, ToleranceOverride

PROJECTION = registry.get("nonnegative_projection")
SOFTMAX = registry.get("temperature_softmax")


class _SmoothGradients(type(SOFTMAX.gradient)):
    """The softmax's gradient model: it reports no kink."""


def _remade(spec, **changes):
    fields = {field.name: getattr(spec, field.name) for field in dataclasses.fields(LayerSpec) if field.init}
    return LayerSpec(**{**fields, **changes})


def test_the_production_specs_are_consistent():
    for spec in registry.specs():
        assert _remade(spec).name == spec.name


def test_kinks_without_a_gradient_model_that_finds_them_is_refused():
    with pytest.raises(ValueError, match="declares KINKS but its gradient model does not override near_kinks"):
        _remade(SOFTMAX, capabilities={*SOFTMAX.capabilities, KINKS}, gradient=_SmoothGradients())


def test_a_gradient_model_that_finds_kinks_needs_the_capability():
    assert type(PROJECTION.gradient).near_kinks is not GradientModel.near_kinks
    with pytest.raises(ValueError, match="reports kinks .near_kinks. but the spec does not declare KINKS"):
        _remade(PROJECTION, capabilities=set(PROJECTION.capabilities) - {KINKS})


def test_a_stateful_spec_names_its_state():
    with pytest.raises(ValueError, match="state= must name one of its non-trainable weights"):
        _remade(SOFTMAX, capabilities={*SOFTMAX.capabilities, STATEFUL}, state="nothing")


def test_skips_and_overrides_carry_a_reason():
    with pytest.raises(ValueError, match="every skip is a Skip with a reason"):
        _remade(SOFTMAX, skips=(Skip("test_devices_agree", ""),))
    with pytest.raises(ValueError, match="every override is a ToleranceOverride with a reason"):
        _remade(SOFTMAX, tolerance_overrides=(ToleranceOverride("devices agree", None, ""),))
