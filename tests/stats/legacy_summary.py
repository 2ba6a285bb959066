"""Per-entry summaries of per-seed results: mean, seed spread, confidence interval, interquartile mean.

Which interval ``summarize`` reports, and why
---------------------------------------------
A leaderboard entry typically has 3–5 seeds. The percentile bootstrap of the mean is badly over-confident at
that size: with n = 3 its 95% interval is essentially [min, max] of the three seeds, which contains the true
mean only 75% of the time (1 - 2·(1/2)^3) for any continuous distribution. The Student-t interval
``mean ± t_{n-1, 1-α/2} · s/√n`` is exact when seed-to-seed accuracy is normal (a good approximation for the
average of many test-set predictions) and stays honest at n = 2 or 3, so ``summarize`` uses it.
``tests/stats/test_stats_summary.py`` measures both coverages by simulation.

``bootstrap_ci`` is still provided (and used by the two-sample comparisons in ``compare``) because it makes no
distributional assumption and is the right tool once an entry has ≥ 10 seeds.

A single seed has no measured spread. ``summarize`` then returns the degenerate interval (x, x) unless the
caller passes the benchmark's pooled seed noise (``ranking.pooled_std``), in which case the interval is
``x ± t_{df, 1-α/2} · noise_std`` – the spread a seed of this benchmark typically shows.
"""

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import special, stats

from app.stats._validate import FloatArray, as_finite_array, check_confidence, check_resamples, sample_var

IQM_MIN_N = 4
"""The interquartile mean trims 25% from each side; below 4 values that trims nothing meaningful."""


@dataclass(frozen=True)
class Summary:
    """Summary of one entry's per-seed scores (same units as the input, e.g. accuracy as a fraction).

    ``std`` is the sample standard deviation (ddof=1), 0.0 for a single seed. ``ci_low``/``ci_high`` bound the
    mean at ``confidence`` using ``ci_method`` ("t", "bootstrap", "noise_floor" or "none" for a lone seed
    without a benchmark noise estimate). ``iqm`` is the interquartile mean, present from 4 seeds on.
    """

    n: int
    mean: float
    std: float
    ci_low: float
    ci_high: float
    iqm: float | None
    confidence: float = 0.95
    ci_method: str = "t"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (all floats are finite)."""
        return asdict(self)


def bootstrap_ci(
    values: Sequence[float], confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean; deterministic for a fixed ``seed``.

    Resamples the values with replacement ``n_resamples`` times (``np.random.default_rng(seed)``) and returns
    the (α/2, 1-α/2) quantiles of the resampled means. n == 1 gives (x, x); n == 0 raises ``ValueError``.
    Beware: under-covers badly for n < 10 (see the module docstring).
    """
    arr = as_finite_array(values)
    check_confidence(confidence)
    check_resamples(n_resamples)
    if arr.size == 1:
        return float(arr[0]), float(arr[0])
    rng = np.random.default_rng(seed)
    means = arr[rng.integers(0, arr.size, size=(n_resamples, arr.size))].mean(axis=1)
    return _percentile_interval(means, confidence)


def t_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Student-t CI of the mean (exact under normality); n == 1 gives (x, x), n == 0 raises ``ValueError``."""
    arr = as_finite_array(values)
    check_confidence(confidence)
    mean = float(arr.mean())
    if arr.size == 1:
        return mean, mean
    half = _t_quantile(confidence, arr.size - 1) * np.sqrt(sample_var(arr) / arr.size)
    return mean - half, mean + half


def iqm(values: Sequence[float]) -> float:
    """Interquartile mean: the mean of the middle 50% (``scipy.stats.trim_mean(values, 0.25)``).

    Robust to one diverged seed, yet uses more of the data than the median (Agarwal et al. 2021).
    """
    return float(stats.trim_mean(as_finite_array(values), 0.25))


def summarize(
    values: Sequence[float],
    *,
    seed: int = 0,
    confidence: float = 0.95,
    method: str = "t",
    noise_std: float | None = None,
    noise_df: int | None = None,
) -> Summary:
    """Summarize one entry's per-seed scores.

    ``method`` is "t" (default, honest for few seeds) or "bootstrap" (percentile bootstrap, ``seed`` fixes
    it). For a single seed, pass the benchmark's pooled seed std ``noise_std`` with its degrees of freedom
    ``noise_df`` (see ``ranking.pooled_std``) to get an interval of typical seed noise instead of (x, x).
    """
    arr = as_finite_array(values)
    check_confidence(confidence)
    if arr.size == 1:
        low, high, used = _single_seed_ci(float(arr[0]), confidence, noise_std, noise_df)
    elif method == "t":
        low, high, used = *t_ci(arr.tolist(), confidence), "t"
    elif method == "bootstrap":
        low, high, used = *bootstrap_ci(arr.tolist(), confidence, seed=seed), "bootstrap"
    else:
        raise ValueError(f"method must be 't' or 'bootstrap', got {method!r}")
    return Summary(
        n=int(arr.size),
        mean=float(arr.mean()),
        std=float(np.sqrt(sample_var(arr))),
        ci_low=float(low),
        ci_high=float(high),
        iqm=iqm(arr.tolist()) if arr.size >= IQM_MIN_N else None,
        confidence=confidence,
        ci_method=used,
    )


def _single_seed_ci(
    x: float, confidence: float, noise_std: float | None, noise_df: int | None
) -> tuple[float, float, str]:
    if noise_std is None or noise_df is None or noise_df < 1:
        return x, x, "none"
    if noise_std < 0:
        raise ValueError(f"noise_std must be >= 0, got {noise_std}")
    half = _t_quantile(confidence, noise_df) * noise_std
    return x - half, x + half, "noise_floor"


def _t_quantile(confidence: float, df: float) -> float:
    return float(special.stdtrit(df, 0.5 + confidence / 2.0))


def _percentile_interval(samples: FloatArray, confidence: float) -> tuple[float, float]:
    alpha = 1.0 - confidence
    low, high = np.quantile(samples, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(low), float(high)
