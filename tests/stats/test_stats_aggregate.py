"""aggregate: normalisation, weighted IQM against scipy, probability of improvement against the rliable
formula, performance profiles by hand, and the IQM interval's coverage."""

import math
from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats

from app.stats.aggregate import (
    iqm_estimate,
    normalise,
    performance_profile,
    probability_of_improvement,
    weighted_iqm,
)


def test_normalise() -> None:
    assert normalise(0.55, 0.1) == pytest.approx(0.5)
    assert normalise(0.5, 0.5) == 0.0 and normalise(1.0, 0.5) == 1.0
    assert normalise(0.05, 0.1) < 0.0
    with pytest.raises(ValueError, match="chance"):
        normalise(0.9, 1.0)


def test_weighted_iqm_equals_trim_mean_for_equal_weights() -> None:
    rng = np.random.default_rng(3)
    for n in (4, 8, 12, 40):
        x = rng.normal(size=n)
        assert weighted_iqm(x[None, :], np.full(n, 1 / n))[0] == pytest.approx(stats.trim_mean(x, 0.25))


def test_iqm_weights_each_benchmark_equally() -> None:
    # A: four runs at 0.0; B: one run at 1.0. Each benchmark holds half the weight: the middle 50 % is the
    # top quarter of A's mass and the bottom quarter of B's, so the IQM is (0.25·0 + 0.25·1)/0.5 = 0.5.
    est = iqm_estimate({"A": [0.0, 0.0, 0.0, 0.0], "B": [1.0]}, n_boot=200)
    assert est.value == pytest.approx(0.5)
    assert est.low <= est.value <= est.high
    assert iqm_estimate({"A": [0.1, 0.2, 0.3, 0.4]}, seed=4) == iqm_estimate({"A": [0.1, 0.2, 0.3, 0.4]}, seed=4)
    with pytest.raises(ValueError, match="at least one benchmark"):
        iqm_estimate({})


def test_probability_of_improvement_matches_the_rliable_formula() -> None:
    rng = np.random.default_rng(8)
    x = {"a": rng.normal(0.6, 0.1, 6).tolist(), "b": rng.normal(0.5, 0.1, 5).tolist(), "only_x": [0.9]}
    y = {"a": rng.normal(0.5, 0.1, 4).tolist(), "b": rng.normal(0.5, 0.1, 7).tolist()}
    per_task = [
        stats.mannwhitneyu(x[t], y[t], alternative="greater").statistic / (len(x[t]) * len(y[t])) for t in ("a", "b")
    ]
    est = probability_of_improvement(x, y)
    assert est.value == pytest.approx(np.mean(per_task))
    assert est.low <= est.value <= est.high
    assert probability_of_improvement({"a": [1.0, 2.0]}, {"a": [1.0, 2.0]}).value == 0.5
    with pytest.raises(ValueError, match="share no benchmark"):
        probability_of_improvement({"a": [1.0]}, {"b": [1.0]})


def test_performance_profile_by_hand() -> None:
    runs = {"a": [0.1, 0.5, 0.9, 0.95], "b": [0.2, 0.8]}
    prof = performance_profile(runs, [0.0, 0.5, 0.85, 1.0], n_boot=300)
    # τ = 0.5: a has 2/4 above, b has 1/2 → (0.5 + 0.5)/2; τ = 0.85: (2/4 + 0)/2
    assert prof.fraction == pytest.approx([1.0, 0.5, 0.25, 0.0])
    assert all(lo <= f <= hi for lo, f, hi in zip(prof.low, prof.fraction, prof.high, strict=True))
    assert prof.to_dict()["taus"] == [0.0, 0.5, 0.85, 1.0]


@pytest.mark.simulation
def test_iqm_interval_coverage(report: Callable[[str], None]) -> None:
    """A family with 4 benchmarks × 5 entries × 3 seeds of normal scores: how often the 95 % stratified
    bootstrap interval covers the true IQM (here the common mean)."""
    rng = np.random.default_rng(17)
    trials, hits = 200, 0
    for _ in range(trials):
        runs = {f"b{i}": rng.normal(0.6, 0.1, 15).tolist() for i in range(4)}
        est = iqm_estimate(runs, n_boot=500, seed=int(rng.integers(1 << 30)))
        hits += est.low <= 0.6 <= est.high
    rate = hits / trials
    report(f"IQM stratified-bootstrap 95 % interval, 4 benchmarks x 15 runs, {trials} families: coverage {rate:.3f}")
    assert rate >= 0.9 - 2.5 * math.sqrt(0.1 / trials)
