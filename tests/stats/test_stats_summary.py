"""summary: hand-worked examples and scipy as reference; a coverage simulation justifies the CI choice."""

import math
from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats

from tests.stats.legacy_summary import Summary, bootstrap_ci, iqm, summarize, t_ci


def test_summarize_three_seeds_by_hand() -> None:
    s = summarize([0.90, 0.91, 0.93])
    # mean 0.91333…, deviations (-0.01333, -0.00333, 0.01667): sum of squares 4.6667e-4, / 2 → var 2.3333e-4
    assert s.n == 3
    assert s.mean == pytest.approx(0.9133333333)
    assert s.std == pytest.approx(math.sqrt(2.3333333e-4), rel=1e-6)
    half = 4.302652729911275 * s.std / math.sqrt(3)  # t_{0.975, 2} = 4.3027
    assert (s.ci_low, s.ci_high) == pytest.approx((s.mean - half, s.mean + half))
    assert (s.ci_low, s.ci_high) == pytest.approx(stats.t.interval(0.95, 2, loc=s.mean, scale=s.std / math.sqrt(3)))
    assert s.iqm is None
    assert s.ci_method == "t"


def test_summarize_single_seed_without_and_with_noise_floor() -> None:
    lone = summarize([0.8])
    assert (lone.n, lone.mean, lone.std, lone.ci_low, lone.ci_high, lone.iqm) == (1, 0.8, 0.0, 0.8, 0.8, None)
    assert lone.ci_method == "none"
    borrowed = summarize([0.8], noise_std=0.01, noise_df=10)
    half = stats.t.ppf(0.975, 10) * 0.01
    assert (borrowed.ci_low, borrowed.ci_high) == pytest.approx((0.8 - half, 0.8 + half))
    assert borrowed.ci_method == "noise_floor"


def test_summarize_iqm_from_four_seeds_and_to_dict() -> None:
    s = summarize([0.1, 0.2, 0.3, 1.0], method="bootstrap", seed=3)
    assert s.iqm == pytest.approx(0.25)  # trims one value from each end: mean(0.2, 0.3)
    assert s.ci_method == "bootstrap"
    d = s.to_dict()
    assert set(d) == {"n", "mean", "std", "ci_low", "ci_high", "iqm", "confidence", "ci_method"}
    assert d["n"] == 4
    assert isinstance(s, Summary)


@pytest.mark.parametrize("bad", [[], [0.5, float("nan")], [float("inf")]])
def test_summarize_refuses_empty_or_non_finite(bad: list[float]) -> None:
    with pytest.raises(ValueError):
        summarize(bad)


def test_iqm_matches_scipy_and_hand_example() -> None:
    values = [1.0, 2, 3, 4, 5, 6, 7, 100]
    assert iqm(values) == pytest.approx(4.5)  # middle four: 3, 4, 5, 6
    rng = np.random.default_rng(1)
    x = rng.normal(size=13)
    assert iqm(x.tolist()) == pytest.approx(stats.trim_mean(x, 0.25))


def test_bootstrap_ci_two_values_by_hand() -> None:
    # Resample means of [0, 1] are 0, 0.5, 1 with probability 1/4, 1/2, 1/4.
    assert bootstrap_ci([0.0, 1.0], n_resamples=4000) == (0.0, 1.0)
    assert bootstrap_ci([0.0, 1.0], confidence=0.4, n_resamples=4000) == (0.5, 0.5)


def test_bootstrap_ci_is_deterministic_per_seed() -> None:
    values = [0.81, 0.84, 0.80, 0.86, 0.83]
    assert bootstrap_ci(values, seed=7) == bootstrap_ci(values, seed=7)
    assert bootstrap_ci(values, seed=7) != bootstrap_ci(values, seed=8)


def test_bootstrap_ci_edge_cases() -> None:
    assert bootstrap_ci([0.7]) == (0.7, 0.7)
    with pytest.raises(ValueError):
        bootstrap_ci([])
    with pytest.raises(ValueError):
        bootstrap_ci([0.1, 0.2], confidence=1.0)
    with pytest.raises(ValueError):
        bootstrap_ci([0.1, 0.2], n_resamples=0)


def test_bootstrap_ci_agrees_with_scipy_percentile_bootstrap() -> None:
    x = np.random.default_rng(2).normal(0.9, 0.02, size=20)
    ours = bootstrap_ci(x.tolist(), n_resamples=20000, seed=0)
    ref = stats.bootstrap(
        (x,), np.mean, method="percentile", n_resamples=20000, rng=np.random.default_rng(5)
    ).confidence_interval
    assert ours == pytest.approx((ref.low, ref.high), abs=1e-3)


def test_t_ci_matches_scipy() -> None:
    x = [0.5, 0.7, 0.65, 0.55]
    expected = stats.t.interval(0.9, 3, loc=np.mean(x), scale=stats.sem(x))
    assert t_ci(x, 0.9) == pytest.approx(expected)


@pytest.mark.simulation
def test_coverage_with_three_seeds_t_is_honest_bootstrap_is_not(report: Callable[[str], None]) -> None:
    """Why summarize defaults to the t interval: at n = 3 the percentile bootstrap covers ~75%, not 95%."""
    rng = np.random.default_rng(11)
    trials, true_mean = 400, 0.9
    data = rng.normal(true_mean, 0.01, size=(trials, 3))
    t_hits = boot_hits = 0
    for i, row in enumerate(data):
        lo, hi = t_ci(row.tolist())
        t_hits += lo <= true_mean <= hi
        lo, hi = bootstrap_ci(row.tolist(), n_resamples=500, seed=i)
        boot_hits += lo <= true_mean <= hi
    t_cov, boot_cov = t_hits / trials, boot_hits / trials
    report(f"95% CI coverage, n=3 seeds, {trials} trials: t {t_cov:.3f}, percentile bootstrap {boot_cov:.3f}")
    assert 0.92 <= t_cov <= 0.98
    assert boot_cov < 0.85
