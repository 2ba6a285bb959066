"""Which family wins overall? Aggregates across benchmarks in the manner of rliable (Agarwal et al. 2021).

Scores are first **normalised per benchmark** so that benchmarks with different chance levels can be
pooled: (accuracy − chance) / (1 − chance), 0 = chance, 1 = perfect (``normalise``). A family's data is a
mapping benchmark → the normalised scores of every run (every seed of every entry of that family there).

* **IQM** (interquartile mean, the mean of the middle 50 % of all runs): robust to a few diverged runs yet
  far less noisy than the median. Each benchmark gets equal total weight (its runs share it), so a benchmark
  with many entries does not dominate; with equal runs per benchmark this is rliable's IQM. The trimming is
  fractional at the 25 %/75 % weight boundaries.
* **Stratified bootstrap** CIs (percentile, like rliable's default): runs are resampled with replacement
  *within* each benchmark, keeping every benchmark's number of runs, which is the sampling design (the
  benchmarks are fixed, the runs are random).
* **Probability of improvement** P(X > Y): for each benchmark both families have runs on, the chance that a
  random run of X beats a random run of Y (Mann–Whitney U / (n_x·n_y), ties ½), averaged over those
  benchmarks; CI by resampling X and Y independently within each benchmark.
* **Performance profile**: for each threshold τ, the fraction of runs with normalised score > τ (each
  benchmark weighted equally), with pointwise stratified-bootstrap bands.

All bootstraps are seeded and vectorised over resamples.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from app.stats._validate import FloatArray, as_finite_array, check_confidence, check_resamples, percentile_interval

Runs = Mapping[str, Sequence[float]]
"""benchmark slug → normalised per-run scores of one family there."""


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its stratified-bootstrap percentile interval."""

    value: float
    low: float
    high: float
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class Profile:
    """A performance profile: fraction of runs above each τ, with pointwise bands."""

    taus: list[float]
    fraction: list[float]
    low: list[float]
    high: list[float]
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return asdict(self)


def normalise(accuracy: float, chance: float) -> float:
    """(accuracy − chance)/(1 − chance): 0 at chance, 1 at perfect, negative below chance."""
    if not 0.0 <= chance < 1.0:
        raise ValueError(f"chance must be in [0, 1), got {chance}")
    return (accuracy - chance) / (1.0 - chance)


def weighted_iqm(values: FloatArray, weights: FloatArray) -> FloatArray:
    """Row-wise interquartile mean of ``values`` (rows × runs) with run ``weights`` summing to 1."""
    values = np.atleast_2d(values)
    order = np.argsort(values, axis=1, kind="stable")
    v = np.take_along_axis(values, order, axis=1)
    w = weights[order]
    upper = np.cumsum(w, axis=1)
    kept = np.clip(np.minimum(upper, 0.75) - np.maximum(upper - w, 0.25), 0.0, None)
    return np.asarray((kept * v).sum(axis=1) / 0.5, dtype=np.float64)


def iqm_estimate(runs: Runs, confidence: float = 0.95, n_boot: int = 2000, seed: int = 0) -> Estimate:
    """IQM of a family's normalised runs over all benchmarks, with a stratified-bootstrap CI."""
    check_confidence(confidence)
    check_resamples(n_boot)
    values, weights = _stack(runs)
    point = float(weighted_iqm(values[None, :], weights)[0])
    boot = weighted_iqm(_stratified_resample(runs, n_boot, np.random.default_rng(seed)), weights)
    low, high = percentile_interval(boot, confidence)
    return Estimate(point, low, high, confidence)


def probability_of_improvement(
    x: Runs, y: Runs, confidence: float = 0.95, n_boot: int = 2000, seed: int = 0
) -> Estimate:
    """P(X > Y) averaged over the benchmarks both families have runs on, with a stratified-bootstrap CI."""
    check_confidence(confidence)
    check_resamples(n_boot)
    shared = sorted(set(x) & set(y))
    if not shared:
        raise ValueError("the two families share no benchmark: nothing to compare")
    rng = np.random.default_rng(seed)
    point, boot = 0.0, np.zeros(n_boot)
    for bench in shared:
        xb, yb = as_finite_array(x[bench], bench), as_finite_array(y[bench], bench)
        point += float(_u_fraction(xb[None, :], yb[None, :])[0])
        rx = xb[rng.integers(0, xb.size, size=(n_boot, xb.size))]
        ry = yb[rng.integers(0, yb.size, size=(n_boot, yb.size))]
        boot += _u_fraction(rx, ry)
    low, high = percentile_interval(boot / len(shared), confidence)
    return Estimate(point / len(shared), low, high, confidence)


def performance_profile(
    runs: Runs, taus: Sequence[float], confidence: float = 0.95, n_boot: int = 2000, seed: int = 0
) -> Profile:
    """Fraction of runs with normalised score > τ for each τ (benchmarks weighted equally), with bands."""
    check_confidence(confidence)
    check_resamples(n_boot)
    tau = as_finite_array(taus, "taus")
    values, weights = _stack(runs)
    boot = _stratified_resample(runs, n_boot, np.random.default_rng(seed))
    fraction, low, high = [], [], []
    for t in tau.tolist():
        fraction.append(float((values > t) @ weights))
        lo, hi = percentile_interval((boot > t) @ weights, confidence)
        low.append(lo)
        high.append(hi)
    return Profile(tau.tolist(), fraction, low, high, confidence)


def _stack(runs: Runs) -> tuple[FloatArray, FloatArray]:
    """All runs in benchmark order, and weights giving each benchmark 1/B of the total."""
    if not runs:
        raise ValueError("a family needs runs on at least one benchmark")
    parts = [as_finite_array(runs[b], b) for b in sorted(runs)]
    weights = np.concatenate([np.full(p.size, 1.0 / (p.size * len(parts))) for p in parts])
    return np.concatenate(parts), weights


def _stratified_resample(runs: Runs, n_boot: int, rng: np.random.Generator) -> FloatArray:
    """n_boot rows, each resampling every benchmark's runs with replacement within that benchmark."""
    blocks = []
    for bench in sorted(runs):
        v = as_finite_array(runs[bench], bench)
        blocks.append(v[rng.integers(0, v.size, size=(n_boot, v.size))])
    return np.concatenate(blocks, axis=1)


def _u_fraction(a: FloatArray, b: FloatArray) -> FloatArray:
    """Row-wise U_a / (n_a·n_b) from mid-ranks (ties count ½)."""
    n_a, n_b = a.shape[1], b.shape[1]
    ranks = stats.rankdata(np.concatenate([a, b], axis=1), axis=1)
    return np.asarray((ranks[:, :n_a].sum(axis=1) - n_a * (n_a + 1) / 2.0) / (n_a * n_b), dtype=np.float64)
