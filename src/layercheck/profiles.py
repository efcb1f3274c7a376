"""Hypothesis profiles for the gate.

* ``dev``: the local default. Few examples, randomized, so a developer's run is quick and
  still explores something new each time.
* ``ci``: loaded when the ``CI`` environment variable is set. Derandomized (the same
  examples every run: a red CI is reproducible on any machine), no database, the failure
  blob printed, enough examples to cover the strategies' families.
* ``thorough``: nightly. Many more examples, randomized.
* ``zoo``: the ``ci`` examples without shrinking, for running the gate against known-bad
  implementations, where only "caught or not" matters and shrinking a failure is wasted time.

None has a deadline: TensorFlow traces a function on its first call, which would land in the
first example's time and make Hypothesis report "Unreliable test timings". pytest-timeout
guards against hangs instead (``timeout`` in pyproject.toml).
"""

import os

from hypothesis import HealthCheck, Phase, settings

PROFILES = ("dev", "ci", "thorough", "zoo")
_SLOW_IS_EXPECTED = [HealthCheck.too_slow, HealthCheck.data_too_large]


def register():
    """Register the three profiles (idempotent)."""
    settings.register_profile(
        "dev",
        max_examples=10,
        deadline=None,
        suppress_health_check=_SLOW_IS_EXPECTED,
    )
    settings.register_profile(
        "ci",
        max_examples=25,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=True,
        suppress_health_check=_SLOW_IS_EXPECTED,
    )
    settings.register_profile(
        "zoo",
        parent=settings.get_profile("ci"),
        phases=[Phase.explicit, Phase.generate],
        print_blob=False,
    )
    settings.register_profile(
        "thorough",
        max_examples=300,
        deadline=None,
        print_blob=True,
        suppress_health_check=_SLOW_IS_EXPECTED,
    )


def default_profile():
    """``ci`` when the ``CI`` environment variable is set (and not "false"/"0"), else ``dev``."""
    ci = os.environ.get("CI", "")
    return "ci" if ci and ci.lower() not in ("0", "false", "no") else "dev"


def scaled(fraction, reason):
    """Settings for a property whose examples are expensive: ``fraction`` of the profile's
    examples (at least 3), so ``thorough`` still runs more of them than ``ci``.

    ``reason`` must say why (it is not used, only required, so that every cut is explained
    where it is made).
    """
    if not reason:
        raise ValueError("scaled() needs a reason for running fewer examples")
    return settings(max_examples=max(3, round(settings.default.max_examples * fraction)))
