"""compare: P(A > B) against scipy's Mann–Whitney U, bootstrap CIs against scipy.stats.bootstrap, and the
posterior P(A > B) with its 3-vs-3 coverage."""

import math
from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats

from app.stats.compare import superiority
from app.stats.noise import NoiseReference
from tests.stats.legacy_compare import prob_superiority, stratified_bootstrap_diff_ci
from tests.stats.scenarios import FASHION, superiority_coverage


def test_prob_superiority_by_hand_with_ties() -> None:
    # 1 beats only 0.5; 2 ties twice and beats 0.5; 3 beats all three: (1 + 2·½ + 1 + 3) / 9 = 6/9
    p, _, _ = prob_superiority([1.0, 2.0, 3.0], [2.0, 2.0, 0.5])
    assert p == pytest.approx(6 / 9)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ([0.91, 0.92, 0.90], [0.89, 0.92, 0.88]),
        ([0.5, 0.5, 0.5, 0.6], [0.5, 0.4]),
        ([0.1], [0.1, 0.2, 0.0]),
        (
            list(np.random.default_rng(3).integers(0, 5, 9) / 10),
            list(np.random.default_rng(4).integers(0, 5, 7) / 10),
        ),
    ],
)
def test_prob_superiority_matches_mannwhitneyu_statistic(a: list[float], b: list[float]) -> None:
    expected = stats.mannwhitneyu(a, b).statistic / (len(a) * len(b))
    p, low, high = prob_superiority(a, b)
    assert p == pytest.approx(expected)
    assert 0.0 <= low <= high <= 1.0


def test_prob_superiority_complete_separation_and_single_seeds() -> None:
    assert prob_superiority([0.9, 0.95], [0.1, 0.2]) == (1.0, 1.0, 1.0)
    assert prob_superiority([0.5], [0.5]) == (0.5, 0.5, 0.5)


def test_prob_superiority_bootstrap_is_deterministic_per_seed() -> None:
    a, b = [0.91, 0.93, 0.90, 0.94], [0.92, 0.89, 0.90, 0.91]
    assert prob_superiority(a, b, seed=1) == prob_superiority(a, b, seed=1)
    assert prob_superiority(a, b, seed=1)[1:] != prob_superiority(a, b, seed=2)[1:]
    p, low, high = prob_superiority(a, b)
    assert low <= p <= high


def test_diff_ci_constant_samples_by_hand() -> None:
    assert stratified_bootstrap_diff_ci([1.0, 1.0], [0.0, 0.0, 0.0]) == (1.0, 1.0)


def test_diff_ci_is_deterministic_per_seed() -> None:
    a, b = [0.81, 0.84, 0.80, 0.86, 0.82, 0.79], [0.78, 0.79, 0.83, 0.80, 0.77, 0.81]
    assert stratified_bootstrap_diff_ci(a, b, seed=5) == stratified_bootstrap_diff_ci(a, b, seed=5)
    assert stratified_bootstrap_diff_ci(a, b, seed=5) != stratified_bootstrap_diff_ci(a, b, seed=6)


def test_diff_ci_agrees_with_scipy_independent_two_sample_bootstrap() -> None:
    rng = np.random.default_rng(9)
    a, b = rng.normal(0.90, 0.02, 15), rng.normal(0.88, 0.03, 12)

    def diff(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.mean(x, axis=axis) - np.mean(y, axis=axis)

    ref = stats.bootstrap(
        (a, b), diff, method="percentile", n_resamples=20000, rng=np.random.default_rng(1)
    ).confidence_interval
    ours = stratified_bootstrap_diff_ci(a.tolist(), b.tolist(), n_resamples=20000)
    assert ours == pytest.approx((ref.low, ref.high), abs=1.5e-3)


def test_compare_refuses_empty() -> None:
    with pytest.raises(ValueError):
        prob_superiority([], [0.1])
    with pytest.raises(ValueError):
        stratified_bootstrap_diff_ci([0.1], [])


REF = NoiseReference(sigma=0.005, df=14.7, n_entries=8, method="test", prior_df=12.0)


def test_superiority_is_not_degenerate_for_three_separated_seeds() -> None:
    """The bootstrap says 100 % [100, 100] for 3 vs 3 seeds that do not overlap; the posterior does not."""
    a, b = [0.905, 0.907, 0.909], [0.895, 0.897, 0.899]
    assert prob_superiority(a, b) == (1.0, 1.0, 1.0)
    s = superiority(a, b, REF)
    assert 0.5 < s.low < s.p < s.high <= 1.0
    assert s.low < 0.9
    assert s.sentence.startswith("A beats B on a random pair of seeds with probability")
    assert superiority(a, b, REF) == s  # seeded
    same = superiority([0.9, 0.9, 0.9], [0.9, 0.9, 0.9], REF)
    assert same.low < 0.5 < same.high and same.p == pytest.approx(0.5, abs=0.02)
    far = superiority([0.95, 0.951, 0.952], [0.90, 0.901, 0.902], REF)
    assert "above 99.99%" in far.sentence


def test_superiority_point_is_the_plug_in_for_many_seeds() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.normal(0.905, 0.005, 400), rng.normal(0.900, 0.005, 400)
    s = superiority(a.tolist(), b.tolist(), REF)
    plug_in = stats.norm.cdf((a.mean() - b.mean()) / np.sqrt(a.var(ddof=1) + b.var(ddof=1)))
    assert s.p == pytest.approx(plug_in, abs=0.02)
    assert s.high - s.low < 0.1


@pytest.mark.simulation
@pytest.mark.parametrize("gap", [0.0, 1.0, 3.0])
def test_superiority_interval_covers_for_three_vs_three(gap: float, report: Callable[[str], None]) -> None:
    trials = 300
    r = superiority_coverage(FASHION, gap, trials, seed=int(10 * gap) + 1)
    report(
        f"P(A>B) 95 % interval, 3 vs 3 seeds, true gap {gap:.0f} seed std (P = {r['truth']:.3f}), {trials} "
        f"trials: coverage {r['coverage']:.3f}, mean width {r['width']:.2f}"
    )
    assert r["coverage"] >= 0.93 - 2.5 * math.sqrt(0.07 / trials)
