"""An entry's accuracy interval with every error source, on a scale that keeps it inside [0, 1].

What it covers, and why each part
---------------------------------
The target is the accuracy the architecture reaches under this recipe on new data from the benchmark's
distribution, averaged over training seeds. The mean of n per-seed test accuracies misses it for two
independent reasons:

* **seed noise** — training randomness; estimated by the entry's moderated variance s̃² (``noise``: its own
  seeds shrunk toward the frozen benchmark reference, so three identical seeds never give zero width and one
  entry cannot change another's width), contributing s̃²/n;
* **test-set sampling** — the test set is one finite sample; every seed is scored on the same images, so this
  error does not average out over seeds. Its variance is at most p(1 − p)/n_test (exactly that when the seeds
  agree image by image, less when they disagree), and the upper bound is used. On 447 digits images at
  98.5 % it alone is ±0.6 points, as large as the seed noise.

Scale: the interval is Wilson's score interval for a binomial proportion at the *effective* number of images
n_eff = p(1 − p) / (s̃²/n + p(1−p)/n_test) — the test size whose binomial variance equals the total — with the t
quantile below in place of z. It never leaves [0, 1] and is asymmetric near the bounds (a t interval on the raw
scale went to 100.11 %); far from them it equals the delta-method logit interval, se_logit = √(total) /
(p(1 − p)), to a hundredth of a point, which was used before and which near 100 % stretched a 0.4-point spread
into a lower bound of 23 % (a 3-seed entry at 99.9 % on digits' 224 images, at the board's simultaneous level).
p is clipped to half a test image from 0 and 1; when the mean is within half an image of a bound the interval is
extended to include the mean (as the exact binomial interval does at 0 or n successes).

Quantile: Student t with the Welch–Satterthwaite df of the two parts (the seed part has df = d0 + n − 1 from
the moderation, the binomial part is treated as known), so a single-seed entry gets the reference's df and a
noisy entry that lost its prior weight gets few df.

Measured in ``tests/stats/test_stats_intervals.py`` (seed noise + a finite, shared test set, discrete
accuracies, the reference itself re-measured each trial): coverage of the 95 % interval ≈ 0.95–0.98 (it
is conservative when seeds disagree image by image, because of the upper bound).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import special

from app.stats._ragged import ragged_moments
from app.stats._validate import FloatArray, check_confidence
from app.stats.noise import NoiseReference, moderate


@dataclass(frozen=True)
class Interval:
    """An entry's mean accuracy and its interval; ``covers`` says in plain words what the interval includes."""

    mean: float
    low: float
    high: float
    se_logit: float
    df: float
    confidence: float
    n: int
    covers: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class Intervals:
    """Vectorised ``Interval`` parts for many entries (NaN where an entry has no score)."""

    n: np.ndarray
    mean: FloatArray
    low: FloatArray
    high: FloatArray
    se_logit: FloatArray
    df: FloatArray
    seed_var: FloatArray


def entry_interval(accs: Sequence[float], n_test: int, ref: NoiseReference, confidence: float = 0.95) -> Interval:
    """Interval for the mean of one entry's per-seed accuracies (fractions in [0, 1]); see the module docstring.

    ``n_test`` is the number of test images every seed was scored on.
    """
    if len(accs) == 0:
        raise ValueError("an entry needs at least one accuracy")
    parts = entry_intervals([accs], n_test, ref, confidence)
    return Interval(
        mean=float(parts.mean[0]),
        low=float(parts.low[0]),
        high=float(parts.high[0]),
        se_logit=float(parts.se_logit[0]),
        df=float(parts.df[0]),
        confidence=confidence,
        n=int(parts.n[0]),
        covers=covers_sentence(int(parts.n[0]), n_test, ref, confidence),
    )


def entry_intervals(
    accs: Sequence[Sequence[float]], n_test: int, ref: NoiseReference, confidence: float = 0.95
) -> Intervals:
    """``entry_interval`` for many entries at once (entries without scores get NaN)."""
    check_confidence(confidence)
    if n_test < 1:
        raise ValueError(f"n_test must be >= 1, got {n_test}")
    moments = ragged_moments(accs, "accuracy")
    present = moments.n > 0
    if np.any((moments.low[present] < 0.0) | (moments.high[present] > 1.0)):
        raise ValueError("accuracies must be fractions in [0, 1]")
    mod = moderate(moments.n, moments.var, ref)
    with np.errstate(invalid="ignore", divide="ignore"):
        seed_var = mod.var / moments.n
    low, high, se_logit, df = logit_bounds(moments.mean, seed_var, mod.df, n_test, confidence)
    return Intervals(n=moments.n, mean=moments.mean, low=low, high=high, se_logit=se_logit, df=df, seed_var=seed_var)


def logit_bounds(
    mean: FloatArray, seed_var: FloatArray, seed_df: FloatArray, n_test: int, confidence: FloatArray | float
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """(low, high, se_logit, df) for means with seed-noise variance ``seed_var`` (of the mean, df ``seed_df``)
    plus binomial test-set sampling on ``n_test`` images; ``confidence`` may be per entry."""
    eps = 0.5 / n_test
    p = np.clip(mean, eps, 1.0 - eps)
    binom_var = p * (1.0 - p) / n_test
    total = seed_var + binom_var
    df = total**2 / (seed_var**2 / seed_df)
    se_logit = np.sqrt(total) / (p * (1.0 - p))
    q = special.stdtrit(df, 0.5 + np.asarray(confidence) / 2.0)
    # Wilson's score interval at the effective number of images whose binomial variance equals the total:
    # the delta method linearises the logit at the mean, which near 100 % stretches a 0.4-point spread into a
    # lower bound of 23 % (a 3-seed entry at 99.9 % on 224 images); the score interval stays in [0, 1] and keeps
    # its shape near the bounds.
    n_eff = p * (1.0 - p) / total
    z2 = q**2 / n_eff
    centre = (p + z2 / 2.0) / (1.0 + z2)
    half = np.sqrt(p * (1.0 - p) / n_eff + z2 / (4.0 * n_eff)) * q / (1.0 + z2)
    low = np.minimum(np.clip(centre - half, 0.0, 1.0), mean)
    high = np.maximum(np.clip(centre + half, 0.0, 1.0), mean)
    return low, high, se_logit, df


def covers_sentence(n: int, n_test: int, ref: NoiseReference, confidence: float) -> str:
    """What an entry's interval includes, for the page."""
    seeds = "1 seed" if n == 1 else f"{n} seeds"
    return (
        f"{_percent(confidence)} interval for the accuracy this architecture reaches on new images under this "
        f"recipe: it includes seed-to-seed training noise ({seeds}, moderated toward the benchmark's reference "
        f"seed noise of ±{100.0 * ref.sigma:.2f} points) and test-set sampling ({n_test:,} test images)."
    )


def _percent(confidence: float) -> str:
    """95 % → "95%", 0.99609 → "99.61%": as many decimals as needed to tell the level apart from 100 %."""
    value = 100.0 * confidence
    for decimals in range(0, 6):
        text = f"{value:.{decimals}f}"
        if abs(float(text) - value) < 1e-9 or (float(text) < 100.0 and decimals >= 1):
            return f"{text}%"
    return f"{value:.5f}%"
