"""equivalence: TOST vs scipy one-sided Welch tests on shifted samples; verdict error rates by simulation."""

import math
from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats

from app.stats.equivalence import seeds_needed, tost, verdict

A = [0.912, 0.905, 0.921, 0.915, 0.909]
B = [0.907, 0.915, 0.903, 0.911]


@pytest.mark.parametrize("delta", [0.005, 0.01, 0.03])
def test_tost_matches_scipy_shifted_one_sided_welch(delta: float) -> None:
    a, b = np.array(A), np.array(B)
    result = tost(A, B, delta)
    p_lower = stats.ttest_ind(a + delta, b, equal_var=False, alternative="greater").pvalue
    p_upper = stats.ttest_ind(a - delta, b, equal_var=False, alternative="less").pvalue
    assert result["p_lower"] == pytest.approx(p_lower)
    assert result["p_upper"] == pytest.approx(p_upper)
    assert result["p"] == pytest.approx(max(p_lower, p_upper))
    assert result["equivalent"] == (max(p_lower, p_upper) < 0.05)


def test_tost_interval_is_scipy_welch_ci_at_one_minus_two_alpha() -> None:
    result = tost(A, B, 0.01, alpha=0.05)
    ci = stats.ttest_ind(A, B, equal_var=False).confidence_interval(confidence_level=0.90)
    assert (result["ci_low"], result["ci_high"]) == pytest.approx((ci.low, ci.high))
    # Equivalent exactly when the 90% interval lies inside (-delta, delta).
    assert result["equivalent"] == (ci.low > -0.01 and ci.high < 0.01)


def test_tost_degenerate_inputs() -> None:
    assert tost([0.9, 0.9], [0.9, 0.9], 0.01)["equivalent"] is True
    assert tost([0.9, 0.9], [0.8, 0.8], 0.01)["equivalent"] is False
    with pytest.raises(ValueError):
        tost([0.9], [0.9, 0.8], 0.01)
    with pytest.raises(ValueError):
        tost(A, B, 0.0)


def test_seeds_needed_by_hand() -> None:
    # equivalence, d = 0: 2·σ²·(z_0.95 + z_0.9)² / δ² = 2 · (1.6449 + 1.2816)² = 17.13 → 18
    assert seeds_needed(0.0, 0.01, 0.01) == 18
    # difference, d = 2σ ≥ δ: 2·σ²·(z_0.975 + z_0.8)² / d² = 0.5 · (1.96 + 0.8416)² = 3.92 → 4
    assert seeds_needed(0.02, 0.01, 0.01) == 4
    assert seeds_needed(0.005, 0.0, 0.01) == 2
    assert seeds_needed(0.00999999, 0.01, 0.01) <= seeds_needed(0.0, 0.01, 0.01) * 10_000


def test_verdict_kinds() -> None:
    same = verdict([0.900, 0.901, 0.899, 0.900], [0.900, 0.899, 0.901, 0.900], delta=0.01)
    assert same["kind"] == "equivalent"
    assert same["sentence"] == "The two variants perform the same within ±1.0 points (A - B = 0.0 points)."
    better = verdict([0.95, 0.96, 0.94], [0.90, 0.91, 0.89], delta=0.01)
    assert better["kind"] == "a_better"
    assert better["sentence"].startswith("Variant A is better by 5.0 points (95% interval")
    assert verdict([0.90, 0.91, 0.89], [0.95, 0.96, 0.94], delta=0.01)["kind"] == "b_better"
    unsure = verdict([0.90, 0.93, 0.88], [0.91, 0.89, 0.92], delta=0.01)
    assert unsure["kind"] == "inconclusive"
    assert f"about {unsure['seeds_needed']} seeds per variant" in unsure["sentence"]


@pytest.mark.simulation
def test_verdict_same_distribution_called_different_at_most_alpha(report: Callable[[str], None]) -> None:
    rng = np.random.default_rng(2024)
    trials, n = 1000, 5
    kinds = [verdict(*rng.normal(0.9, 0.01, size=(2, n)).tolist(), delta=0.01)["kind"] for _ in range(trials)]
    different = sum(k in ("a_better", "b_better") for k in kinds) / trials
    equivalent = kinds.count("equivalent") / trials
    report(
        f"verdict, same distribution, {n} seeds each, delta = 1 std, {trials} trials: "
        f"called different {different:.3f}, called equivalent {equivalent:.3f}"
    )
    assert different <= 0.05 + 2.5 * math.sqrt(0.05 * 0.95 / trials)


@pytest.mark.simulation
def test_tost_at_the_margin_declares_equivalence_at_most_alpha(report: Callable[[str], None]) -> None:
    """True difference exactly delta: the worst case for a false "equivalent"."""
    rng = np.random.default_rng(77)
    trials, n, delta = 1000, 5, 0.01
    samples = rng.normal(0.9, 0.01, size=(trials, 2, n)) + np.array([delta, 0.0])[:, None]
    hits = sum(tost(a.tolist(), b.tolist(), delta)["equivalent"] for a, b in samples)
    rate = hits / trials
    report(f"TOST, true difference = delta, {n} seeds each, {trials} trials: false 'equivalent' {rate:.3f}")
    assert rate <= 0.05 + 2.5 * math.sqrt(0.05 * 0.95 / trials)
