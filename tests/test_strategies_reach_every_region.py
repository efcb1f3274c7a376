"""The examples reach every region of each argument's documented domain in the ``ci`` profile.

Each spec lists its regions (:class:`layercheck.spec.Region`: non-default floors and
initializers, ranks, widths, magnitudes, basis families). A property draws its examples
through ``cases.examples`` (or the round trips' strategy), 25 examples in the ``ci`` profile,
and the gate draws each layer's examples in dozens of property tests (its round trips in five),
each derandomized from its own test. Here each strategy is drawn as ``RUNS`` such property
tests draw it (``ci`` settings, fixed seeds, so the test is deterministic), and every region must
be reached in them. One run of 25 is not enough to ask for: Hypothesis's generator repeats and
mutates its earlier choices, and over 20 seeds a region of a third of the draws was missed by a
run of 25 up to four times. The plugin's summary shows the counts of a real run, per test.
"""

import collections

import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from layercheck import cases, profiles, registry
from layercheck.layers.specs import SPECS
from layercheck.spec import LayerSpec, Region

profiles.register()
BUILTIN = [spec.name for spec in SPECS]
#: How many property tests' draws are pooled: the round trips' five properties, the fewest that
#: draw from one strategy.
RUNS = 5


def _reached(strategy, spec):
    seen = collections.Counter()
    for run in range(RUNS):

        @seed(run)
        @settings(settings.get_profile("ci"), database=None, derandomize=False)
        @given(data=st.data())
        def draw_like_a_property(data):
            example = data.draw(strategy, label="example")
            seen.update(region.label for region in spec.regions_of(example))
            seen["(examples)"] += 1

        draw_like_a_property()
    return seen


@pytest.mark.parametrize("strategy_of", ["examples", "round trips"])
@pytest.mark.parametrize("name", BUILTIN)
def test_a_ci_run_of_the_examples_reaches_every_region(name, strategy_of):
    spec = registry.get(name)
    assert spec.regions, f"{name}'s spec declares no regions"
    strategy = cases.examples(name) if strategy_of == "examples" else spec.round_trips()
    seen = _reached(strategy, spec)
    missing = [region.label for region in spec.regions if not seen[region.label]]
    assert not missing, f"{seen['(examples)']} examples of {name} ({strategy_of}) in {RUNS} ci-sized runs never reached: {missing}; counts: {dict(seen)}"


def test_a_drawn_example_emits_one_event_per_region_it_lies_in(monkeypatch):
    spec = registry.get("temperature_softmax")
    emitted = []
    monkeypatch.setattr("hypothesis.event", emitted.append)

    @settings(max_examples=5, database=None, derandomize=True)
    @given(example=cases.examples("temperature_softmax"))
    def body(example):
        emitted.append(("example", tuple(spec.region_event(region) for region in spec.regions_of(example))))

    body()
    # Each example's events come right before the body's record of what it lies in.
    runs, current = [], []
    for item in emitted:
        if isinstance(item, tuple):
            runs.append((tuple(current), item[1]))
            current = []
        else:
            current.append(item)
    assert runs and all(events == expected for events, expected in runs), runs


def test_regions_are_validated():
    def spec_with(regions):
        return LayerSpec(name="x", factory="m:X", constructor="X()", examples=lambda: None, reference=lambda e, d: None, regions=regions)

    region = Region("units", "one", lambda example: True)
    assert spec_with((region,)).regions == (region,)
    with pytest.raises(ValueError, match="distinct"):
        spec_with((region, Region("units", "one", lambda example: False)))
    with pytest.raises(ValueError, match="regions"):
        spec_with(("units: one",))


def test_events_outside_a_test_are_not_emitted():
    spec = registry.get("memory_cell")
    example = spec.samples()[0].example
    assert spec.note_regions(example) is example  # no Hypothesis context: nothing to emit into
