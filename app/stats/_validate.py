"""Input checks shared by the stats modules.

Every public function takes plain sequences of floats (per-seed accuracies, costs, …). Converting and checking
them in one place keeps the error messages uniform: an empty or non-finite input is a caller bug, and silently
returning NaN would end up as an invalid JSON number on a page.
"""

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def as_finite_array(values: Sequence[float] | FloatArray, name: str = "values", *, min_len: int = 1) -> FloatArray:
    """Return ``values`` as a 1-D float64 array, refusing NaN/inf and fewer than ``min_len`` items."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size < min_len:
        raise ValueError(f"{name} needs at least {min_len} value(s), got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def check_confidence(confidence: float) -> None:
    """Refuse a confidence level outside the open interval (0, 1)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def check_resamples(n_resamples: int) -> None:
    """Refuse a bootstrap with no resamples."""
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")


def sample_var(x: FloatArray) -> float:
    """Sample variance (ddof=1), exactly 0.0 when all values are equal.

    ``np.var`` of three copies of 0.9 is ~1e-33, not 0, because the mean is rounded; a t statistic divided by
    that would be astronomically large. Identical per-seed scores mean "no measured spread", which callers
    handle.
    """
    if x.size < 2 or np.ptp(x) == 0.0:
        return 0.0
    return float(x.var(ddof=1))


def percentile_interval(samples: FloatArray, confidence: float) -> tuple[float, float]:
    """The equal-tailed ``confidence`` interval of bootstrap or posterior draws."""
    alpha = 1.0 - confidence
    low, high = np.quantile(samples, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(low), float(high)
