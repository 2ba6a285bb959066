"""holdout: the public − private gap by hand, its false-alarm rate on runs that share their test images, and
the robustness description."""

import math
from collections.abc import Callable

import numpy as np
import pytest

from app.stats.holdout import public_private_gap, robustness_description
from tests.stats.scenarios import gap_false_alarm


def test_gap_by_hand() -> None:
    gap = public_private_gap([0.92, 0.93, 0.91], [0.90, 0.91, 0.90], 1000, 1000)
    p = np.mean([0.92, 0.93, 0.91, 0.90, 0.91, 0.90])
    se = math.sqrt(p * (1 - p) * (2 / 1000))
    assert gap.gap == pytest.approx(0.05 / 3)
    assert gap.se == pytest.approx(se)
    assert (gap.low, gap.high) == pytest.approx((0.05 / 3 - 1.959964 * se, 0.05 / 3 + 1.959964 * se))
    assert gap.flag == (1.644854 * se < 0.05 / 3)
    assert gap.n_runs == 3
    assert gap.sentence.startswith("Public minus private test accuracy: 1.7 ± 2.5 points (95% interval")


def test_gap_flags_a_large_public_lead_only() -> None:
    tuned = public_private_gap([0.95, 0.95, 0.95], [0.90, 0.90, 0.90], 2000, 2000)
    assert tuned.flag and "a sign of tuning" in tuned.sentence
    below = public_private_gap([0.90, 0.90, 0.90], [0.95, 0.95, 0.95], 2000, 2000)
    assert not below.flag and "no sign of tuning" in below.sentence
    perfect = public_private_gap([1.0, 1.0], [1.0, 1.0], 447, 450)
    assert perfect.se > 0.0 and not perfect.flag


def test_gap_refuses_unpaired_runs() -> None:
    with pytest.raises(ValueError, match="paired per run"):
        public_private_gap([0.9, 0.91], [0.9], 1000, 1000)
    with pytest.raises(ValueError, match="test sizes"):
        public_private_gap([0.9], [0.9], 0, 1000)


@pytest.mark.simulation
@pytest.mark.parametrize(("n_public", "n_private", "mu"), [(447, 450, 0.985), (5000, 5000, 0.9), (2000, 2000, 0.6)])
def test_gap_false_alarm_on_pure_noise(n_public: int, n_private: int, mu: float, report: Callable[[str], None]) -> None:
    trials = 600
    rate = gap_false_alarm(n_public, n_private, mu, runs=3, trials=trials, seed=n_public)
    report(
        f"public-private gap flag, no tuning, {n_public}+{n_private} test images at {100 * mu:.1f} %, 3 runs "
        f"sharing their images, {trials} lineages: flagged {rate:.3f}"
    )
    assert rate <= 0.05 + 2.5 * math.sqrt(0.05 * 0.95 / trials)


def test_robustness_description_is_plain_and_never_a_flag() -> None:
    text = robustness_description(0.95, 0.62, "cue-conflict set", typical_drop=0.30)
    assert text == (
        "Robustness: on the cue-conflict set (a different distribution) it scores 62.0 %, 33.0 points below "
        "its test accuracy (65% of it kept); the typical entry here drops 30.0 points."
    )
    assert "tuned" not in text
    assert robustness_description(0.90, 0.91).startswith("Robustness: on the shifted test set")
    with pytest.raises(ValueError, match="fraction"):
        robustness_description(95.0, 0.5)
