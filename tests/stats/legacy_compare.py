"""The bootstrap probability of superiority the compare page used before ``app.stats.compare.superiority``: kept
here only so that the tests can show what it got wrong (100 % [100, 100] from 3 vs 3 separated seeds)."""

from collections.abc import Sequence

import numpy as np
from scipy import stats

from app.stats._validate import FloatArray, as_finite_array, check_confidence, check_resamples, percentile_interval


def prob_superiority(
    a: Sequence[float], b: Sequence[float], confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """P(A > B) for one random seed of each, with a stratified bootstrap CI: ``(p, ci_low, ci_high)``.

    The point estimate is the Mann–Whitney statistic scaled to [0, 1], U_a / (n_a·n_b), counting ties as 1/2 –
    a statement a reader understands ("A beats B in 83% of seed pairings") that, unlike a p-value, does not
    grow more extreme just because more seeds were run. With one seed per side it is 0, 1/2 or 1 and the CI is
    that point: nothing is known about the spread.
    """
    xa, xb = _two_samples(a, b, confidence, n_resamples)
    point = float(_u_fraction(xa[None, :], xb[None, :])[0])
    rng = np.random.default_rng(seed)
    ra, rb = _resample(xa, n_resamples, rng), _resample(xb, n_resamples, rng)
    low, high = percentile_interval(_u_fraction(ra, rb), confidence)
    return point, low, high


def stratified_bootstrap_diff_ci(
    a: Sequence[float], b: Sequence[float], confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile-bootstrap CI of mean(a) - mean(b), resampling a and b separately (fixed ``seed``).

    Like any percentile bootstrap it is too narrow for a handful of seeds; use ``equivalence.verdict`` (Welch
    t) to decide between two variants with 2–5 seeds each.
    """
    xa, xb = _two_samples(a, b, confidence, n_resamples)
    rng = np.random.default_rng(seed)
    diffs = _resample(xa, n_resamples, rng).mean(axis=1) - _resample(xb, n_resamples, rng).mean(axis=1)
    return percentile_interval(diffs, confidence)


def _two_samples(
    a: Sequence[float], b: Sequence[float], confidence: float, n_resamples: int
) -> tuple[FloatArray, FloatArray]:
    check_confidence(confidence)
    check_resamples(n_resamples)
    return as_finite_array(a, "a"), as_finite_array(b, "b")


def _resample(x: FloatArray, n_resamples: int, rng: np.random.Generator) -> FloatArray:
    return x[rng.integers(0, x.size, size=(n_resamples, x.size))]


def _u_fraction(a: FloatArray, b: FloatArray) -> FloatArray:
    """Row-wise U_a / (n_a·n_b) for 2-D arrays (rows = resamples), from mid-ranks (ties count 1/2)."""
    n_a, n_b = a.shape[1], b.shape[1]
    ranks = stats.rankdata(np.concatenate([a, b], axis=1), axis=1)
    u_a = ranks[:, :n_a].sum(axis=1) - n_a * (n_a + 1) / 2.0
    return np.asarray(u_a / (n_a * n_b), dtype=np.float64)
