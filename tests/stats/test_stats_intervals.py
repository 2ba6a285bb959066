"""intervals: the score interval by hand, its bounds, and its coverage with seed noise and a finite test set."""

import math
from collections.abc import Callable

import numpy as np
import pytest
from scipy import special, stats

from app.stats.intervals import entry_interval, entry_intervals
from app.stats.noise import NoiseReference, moderated_variance
from tests.stats.scenarios import DIGITS, FASHION, World, interval_coverage

REF = NoiseReference(sigma=0.005, df=14.7, n_entries=8, method="test", prior_df=12.0)


def test_interval_by_hand() -> None:
    accs, n_test = [0.90, 0.905, 0.91], 10_000
    iv = entry_interval(accs, n_test, REF)
    s2, df_seed = moderated_variance(accs, REF)
    p = 0.905
    seed_var, binom_var = s2 / 3, p * (1 - p) / n_test
    total = seed_var + binom_var
    se_logit = math.sqrt(total) / (p * (1 - p))
    df = total**2 / (seed_var**2 / df_seed)
    q = stats.t.ppf(0.975, df)
    assert iv.mean == pytest.approx(p)
    assert iv.se_logit == pytest.approx(se_logit)
    assert iv.df == pytest.approx(df)
    n_eff = p * (1 - p) / total  # Wilson's score interval at the images whose binomial variance is the total
    centre = (p + q**2 / (2 * n_eff)) / (1 + q**2 / n_eff)
    half = q / (1 + q**2 / n_eff) * math.sqrt(p * (1 - p) / n_eff + q**2 / (4 * n_eff**2))
    assert iv.low == pytest.approx(centre - half)
    assert iv.high == pytest.approx(centre + half)
    # far from the bounds it is the logit interval of before, to a hundredth of a point
    assert iv.low == pytest.approx(special.expit(special.logit(p) - q * se_logit), abs=1e-4)
    assert iv.n == 3
    assert "3 seeds" in iv.covers and "10,000 test images" in iv.covers and iv.covers.startswith("95%")


def test_interval_stays_in_bounds_and_never_has_zero_width() -> None:
    for accs in ([1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [0.9, 0.9, 0.9], [0.999], [0.99, 1.0, 1.0]):
        iv = entry_interval(accs, 447, REF)
        assert 0.0 <= iv.low < iv.high <= 1.0, accs
        assert iv.low <= iv.mean <= iv.high, accs
    perfect = entry_interval([1.0, 1.0, 1.0], 447, REF)
    assert perfect.high == 1.0
    assert perfect.low < 0.995  # half an image of slack and three seeds cannot prove 100 %


def test_an_entry_near_100_percent_keeps_a_sensible_lower_bound() -> None:
    """The demo's DenseNet on digits (224 test images): seeds 100 %, 99.6 %, 100 %. The delta method on the logit
    scale gave [22.6 %, 100 %] at the board's simultaneous level; the score interval stays near the data."""
    iv = entry_interval([1.0, 0.9955357142857143, 1.0], 224, REF, confidence=0.9992)
    assert 0.85 < iv.low < iv.mean <= iv.high <= 1.0


def test_interval_of_a_noisy_entry_is_wide() -> None:
    calm = entry_interval([0.90, 0.905, 0.91], 10_000, REF)
    noisy = entry_interval([0.85, 0.90, 0.95], 10_000, REF)
    assert noisy.high - noisy.low > 5 * (calm.high - calm.low)
    assert noisy.df < 3.0


def test_vectorised_equals_single_and_empty_entries_are_nan() -> None:
    boards = [[0.9, 0.91, 0.92], [0.5], [], [0.99, 1.0]]
    many = entry_intervals(boards, 2000, REF)
    for i, accs in enumerate(boards):
        if not accs:
            assert math.isnan(many.mean[i]) and math.isnan(many.low[i])
            continue
        one = entry_interval(accs, 2000, REF)
        assert (many.low[i], many.high[i]) == pytest.approx((one.low, one.high))


def test_interval_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="fractions"):
        entry_interval([1.2, 0.6], 1000, REF)
    with pytest.raises(ValueError, match="n_test"):
        entry_interval([0.9], 0, REF)
    with pytest.raises(ValueError, match="at least one"):
        entry_interval([], 1000, REF)
    with pytest.raises(ValueError, match="confidence"):
        entry_interval([0.9], 1000, REF, confidence=1.0)


@pytest.mark.simulation
@pytest.mark.parametrize(("name", "world"), [("fashion-like", FASHION), ("digits-like", DIGITS)])
def test_interval_coverage_with_seed_noise_and_a_finite_test_set(
    name: str, world: World, report: Callable[[str], None]
) -> None:
    rates = interval_coverage(world, trials=150, seed=21)
    noisy = interval_coverage(world, trials=150, seed=22, noise_factor=3.0)
    report(
        f"entry interval 95 %, {name} ({world.n_test} test images), 150 boards x 20 entries x 3 seeds: "
        f"coverage {rates['coverage']:.3f}; entries 3x noisier than the reference: {noisy['coverage']:.3f}, "
        f"width {noisy['width'] / rates['width']:.1f}x"
    )
    assert rates["coverage"] >= 0.93
    assert noisy["coverage"] >= 0.80
    assert noisy["width"] > 1.5 * rates["width"]


def test_entry_interval_is_deterministic() -> None:
    rng = np.random.default_rng(0)
    accs = (0.9 + rng.normal(0, 0.01, 3)).tolist()
    assert entry_interval(accs, 1000, REF) == entry_interval(accs, 1000, REF)
