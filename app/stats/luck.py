"""Best of k made visible: how much luck the best of a lineage's tries carries, and Dodge et al.'s curve.

Expected maximum (memoised)
---------------------------
E[max of k standard normals] depends on k only, so it is integrated once per k (the same
``scipy.integrate.quad`` integral as before, in log space) and cached; a 10,000-entry board asked for it
8,466 times per request with a handful of distinct k.

The lineage luck note
---------------------
A lineage is one architecture's near-variant tries (the caller decides membership; deleted tries still
count). Under "all tries equal" each try's mean is μ + se_i·Z_i, so the best try leads the lineage's median
by luck alone. The note reports

* the **expected luck** E[max] − E[median] = E[max] (the median of symmetric noise has mean 0), computed as
  rms(se)·E[max of k standard normals] (exact when the tries have equal standard errors, as tries of one
  lineage with the same number of seeds do);
* the **observed lead** of the best try over the lineage median, with a ±1.96·SE uncertainty of that
  difference (best vs the median try, or the mean of the two middle tries);
* a **verdict**: "larger than luck" only when the lead exceeds the 1 − α quantile of max − median of k
  standard normals — divided by a √(χ²_df/df) scale, since the SEs are estimates with the moderated df —
  times the *largest* standard error of the lineage; otherwise "within luck". The null quantile is a seeded
  Monte Carlo value per (k, α, df), memoised. Using the largest SE is conservative for
  unequal SEs; ``tests/stats/test_stats_luck.py`` measures the false-alarm rate on pure noise (tries' SEs
  from moderated variances, the reference re-measured every trial).

Standard errors: the tries of a lineage are scored on the same test images, so the test-set sampling error
is shared and cancels in "best minus median"; only seed noise enters. ``lineage_luck_from_seeds`` pools the
tries' within-try variances (one noise level under the null) and moderates the pool toward the frozen
reference.

Ranking a lineage: ``lineage_rank_scores`` ranks a best try whose lead is within luck on all the lineage's
seeds, so that keeping the luckiest copy does not buy a better rank.

Expected best accuracy vs number of tries (Dodge et al. 2019, "Show your work")
------------------------------------------------------------------------------
From k observed tries v_(1) ≤ … ≤ v_(k), the expected best of n tries drawn from their empirical
distribution is Σ_i v_(i)·[(i/k)^n − ((i−1)/k)^n], n = 1..k: the curve a reader compares with a single try.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cache, lru_cache
from typing import Any

import numpy as np
from scipy import integrate, special

from app.stats._ragged import ragged_moments
from app.stats._validate import as_finite_array
from app.stats.noise import NoiseReference, moderate

_LOG_SQRT_2PI = 0.5 * float(np.log(2.0 * np.pi))
NULL_DRAWS = 200_000
"""Monte Carlo draws for the null quantile of max − median (fewer for very large k; see ``_draws``)."""
MIN_TRIES_FOR_CURVE = 3
MAX_FINITE_DF = 1000.0


@cache
def expected_max_std_normal(k: int) -> float:
    """E[max of k i.i.d. N(0, 1)] = ∫ x·k·φ(x)·Φ(x)^(k−1) dx, integrated once per k and cached."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if k == 1:
        return 0.0
    peak = float(special.ndtri(1.0 - 1.0 / (k + 1)))
    log_k = float(np.log(k))

    def density_times_x(x: float) -> float:
        log_pdf = log_k - 0.5 * x * x - _LOG_SQRT_2PI + (k - 1) * special.log_ndtr(x)
        return float(x * np.exp(log_pdf))

    value, _ = integrate.quad(density_times_x, -12.0, 12.0, points=[peak], limit=200)
    return float(value)


def expected_max_of_k(k: int, std: float) -> float:
    """Expected gain of the best of k i.i.d. N(μ, std²) draws over μ: std · E[max of k standard normals].

    E[max] = ∫ x · k φ(x) Φ(x)^(k-1) dx, integrated numerically once per k and cached
    (``luck.expected_max_std_normal``). k = 1 gives 0; k = 2 gives std/√π.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if std < 0:
        raise ValueError(f"std must be >= 0, got {std}")
    if k == 1 or std == 0.0:
        return 0.0
    return float(std * expected_max_std_normal(k))


def expected_max_of_k_many(ks: Sequence[int], stds: Sequence[float]) -> list[float]:
    """std_i · E[max of k_i standard normals] for many (k, std) pairs, one integral per distinct k."""
    if len(ks) != len(stds):
        raise ValueError(f"ks and stds differ in length: {len(ks)} vs {len(stds)}")
    table = {k: expected_max_std_normal(int(k)) for k in set(ks)}
    return [float(s) * table[k] if s > 0.0 else 0.0 for k, s in zip(ks, stds, strict=True)]


def _draws(k: int) -> int:
    return int(max(20_000, min(NULL_DRAWS, 6_400_000 // k)))


def null_lead_quantile(k: int, alpha: float = 0.05, df: float = float("inf")) -> float:
    """1 − α quantile of (max − median of k i.i.d. N(0, 1)) / S, S² ~ χ²_df/df (S = 1 for df = inf).

    S carries the uncertainty of the standard errors themselves (they come from moderated variances with
    ``df`` degrees of freedom, mostly the shared reference). df is rounded down (more conservative) and
    treated as infinite from ``MAX_FINITE_DF`` on, so the seeded Monte Carlo is memoised per (k, α, df).
    """
    if k < 2:
        raise ValueError(f"k must be >= 2, got {k}")
    if not df > 0.0:
        raise ValueError(f"df must be > 0, got {df}")
    return _null_lead_quantile(k, alpha, int(np.floor(df)) if df < MAX_FINITE_DF else 0)


@cache
def _null_lead_quantile(k: int, alpha: float, df: int) -> float:
    remaining = _draws(k)
    rows = min(remaining, max(1, 2_000_000 // k))
    first, state = _first_leads(k, rows)  # the same for every df: computed once per k
    rng = np.random.default_rng()
    rng.bit_generator.state = state
    leads, z_leads = [], first
    while True:
        lead = z_leads / np.sqrt(rng.chisquare(max(df, 1), rows) / max(df, 1)) if df > 0 else z_leads
        leads.append(lead)
        remaining -= rows
        if remaining <= 0:
            break
        rows = min(remaining, rows)
        z_leads = _max_minus_median(rng.standard_normal((rows, k)))
    return float(np.quantile(np.concatenate(leads), 1.0 - alpha))


@lru_cache(maxsize=8)
def _first_leads(k: int, rows: int) -> tuple[np.ndarray, Mapping[str, Any]]:
    """The first chunk's max − median of k standard normals (seeded by k), and the generator's state after it."""
    rng = np.random.default_rng(1_000_003 + k)
    leads = _max_minus_median(rng.standard_normal((rows, k)))
    return leads, rng.bit_generator.state


def _max_minus_median(z: np.ndarray) -> np.ndarray:
    """Per row, the largest value minus the median (``np.median``'s value, from one sort of short rows)."""
    ordered = np.sort(z, axis=1)
    k = z.shape[1]
    median = ordered[:, k // 2] if k % 2 else (ordered[:, k // 2 - 1] + ordered[:, k // 2]) / 2
    result: np.ndarray = ordered[:, -1] - median
    return result


@dataclass(frozen=True)
class LuckNote:
    """The luck note of a lineage's best try (accuracy units, e.g. fractions)."""

    k: int
    best_index: int
    expected_luck: float
    lead: float
    lead_uncertainty: float
    threshold: float
    larger_than_luck: bool
    verdict: str
    sentence: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (a shallow one: every field is a number or a string)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def lineage_luck(
    try_means: Sequence[float], try_ses: Sequence[float], se_df: float = float("inf"), alpha: float = 0.05
) -> LuckNote:
    """The luck note for the best of a lineage's k tries (see the module docstring).

    ``try_means[i]`` is try i's mean accuracy over its seeds, ``try_ses[i]`` its seed-noise standard error,
    ``se_df`` the smallest degrees of freedom among those standard errors (moderated df; inf if known).
    """
    means = as_finite_array(try_means, "try_means")
    ses = as_finite_array(try_ses, "try_ses")
    if means.size != ses.size:
        raise ValueError(f"try_means and try_ses differ in length: {means.size} vs {ses.size}")
    return _note(means.tolist(), ses.tolist(), se_df, alpha)


def _note(means: list[float], ses: list[float], se_df: float, alpha: float) -> LuckNote:
    """``lineage_luck`` on checked plain floats: a lineage has a handful of tries, so Python arithmetic beats
    a dozen numpy calls on tiny arrays (a board of thousands of lineages computes one note per lineage)."""
    if min(ses) <= 0.0:
        raise ValueError("every try's standard error must be > 0 (use the moderated variance)")
    k = len(means)
    best = max(range(k), key=means.__getitem__)  # the first of equal bests, as argmax
    if k == 1:
        return LuckNote(1, 0, 0.0, 0.0, 0.0, 0.0, False, "single try", "A single try: no best-of-k luck.")
    expected = math.sqrt(math.fsum(se * se for se in ses) / k) * expected_max_std_normal(k)
    order = sorted(range(k), key=means.__getitem__)  # stable
    middle = order[k // 2]
    if k % 2:
        median, median_se = means[middle], ses[middle]
    else:
        below = order[k // 2 - 1]
        median = 0.5 * (means[below] + means[middle])
        median_se = 0.5 * math.sqrt(ses[below] ** 2 + ses[middle] ** 2)
    lead = means[best] - median
    uncertainty = 1.96 * math.sqrt(ses[best] ** 2 + median_se**2)
    threshold = null_lead_quantile(k, alpha, se_df) * max(ses)
    larger = lead > threshold
    verdict = "larger than luck" if larger else "within luck"
    sentence = (
        f"best of k = {k} near-variants; expected luck of the best of {k} is {_pts(expected)} points; its lead "
        f"over the lineage's median is {_pts(lead)} ± {_pts(uncertainty)} points — {verdict} (luck alone "
        f"exceeds {_pts(threshold)} points in {100 * alpha:.0f}% of lineages)."
    )
    return LuckNote(k, best, expected, lead, uncertainty, threshold, larger, verdict, sentence)


def lineage_luck_from_seeds(tries: Sequence[Sequence[float]], ref: NoiseReference, alpha: float = 0.05) -> LuckNote:
    """``lineage_luck`` from each try's per-seed scores.

    Under "all tries equal" the tries share one seed noise, so their within-try variances are pooled and the
    pool is moderated toward the frozen reference (``noise.moderate`` with Σ(n_i − 1) own df): SE_i =
    s̃/√n_i, df = d0 + Σ(n_i − 1). Per-try variances (2 df each) would make the largest SE, and so the
    threshold, mostly noise.
    """
    return lineages_luck_from_seeds([tries], ref, alpha)[0]


def lineages_luck_from_seeds(
    lineages: Sequence[Sequence[Sequence[float]]], ref: NoiseReference, alpha: float = 0.05
) -> list[LuckNote]:
    """``lineage_luck_from_seeds`` for many lineages at once: one vectorised pass over all their seeds (each
    lineage's pooled variance moderated in one call), then one note per lineage."""
    tries = [t for lineage in lineages for t in lineage]
    moments = ragged_moments(tries, "try score")
    if np.any(moments.n < 1):
        raise ValueError("every try needs at least one finished seed")
    sizes = np.fromiter((len(lineage) for lineage in lineages), dtype=np.int64, count=len(lineages))
    if np.any(sizes < 1):
        raise ValueError("every lineage needs at least one try")
    owner = np.repeat(np.arange(sizes.size), sizes)
    own_df = np.bincount(owner, weights=moments.n - 1.0, minlength=sizes.size)
    spread = np.bincount(owner, weights=(moments.n - 1) * moments.var, minlength=sizes.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = np.where(own_df > 0, spread / np.maximum(own_df, 1.0), 0.0)
    mod = moderate(own_df + 1.0, pooled, ref)
    ses = np.sqrt(mod.var[owner] / moments.n).tolist()
    means, dfs = moments.mean.tolist(), mod.df.tolist()
    notes, start = [], 0
    for size, df in zip(sizes.tolist(), dfs, strict=True):
        notes.append(_note(means[start : start + size], ses[start : start + size], df, alpha))
        start += size
    return notes


def lineage_rank_scores(
    tries: Sequence[Sequence[float]], ref: NoiseReference, alpha: float = 0.05
) -> tuple[list[float], LuckNote]:
    """The per-seed scores to rank a lineage's kept (best) try on, and its luck note.

    When the best try's lead is within luck, nothing shows that it differs from its lineage, so it is ranked
    on the seeds of *all* the lineage's tries (deleted ones included): keeping the luckiest of k copies then
    gains nothing, and the extra seeds only narrow the interval around the lineage's true level. When the
    lead is larger than luck the best try is ranked on its own seeds. Measured in ``tests/stats/
    test_stats_luck.py``: a best-of-6 attack no longer reaches rank 1 more often than an honest single try.
    """
    return lineages_rank_scores([tries], ref, alpha)[0]


def lineages_rank_scores(
    lineages: Sequence[Sequence[Sequence[float]]], ref: NoiseReference, alpha: float = 0.05
) -> list[tuple[list[float], LuckNote]]:
    """``lineage_rank_scores`` for many lineages at once (``lineages_luck_from_seeds``)."""
    ranked = []
    for tries, note in zip(lineages, lineages_luck_from_seeds(lineages, ref, alpha), strict=True):
        if note.larger_than_luck:
            ranked.append(([float(x) for x in tries[note.best_index]], note))
        else:
            ranked.append(([float(x) for t in tries for x in t], note))
    return ranked


def expected_best_curve(scores: Sequence[float]) -> list[float]:
    """Dodge et al.'s expected best score of n tries, n = 1..k, from k ≥ 3 observed tries' scores."""
    values = np.sort(as_finite_array(scores, "scores", min_len=MIN_TRIES_FOR_CURVE))
    k = values.size
    n = np.arange(1, k + 1)[:, None]
    i = np.arange(1, k + 1)[None, :]
    weights = (i / k) ** n - ((i - 1) / k) ** n
    return (weights @ values).tolist()


def _pts(fraction: float) -> str:
    return f"{round(100.0 * fraction, 1) + 0.0:.1f}"
