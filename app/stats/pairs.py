"""Study verdicts over a grid of variants: Holm across the pairs, moderated variances, honest seed counts.

The decision for each pair, and why
-----------------------------------
A study compares m = V(V − 1)/2 pairs of variants at each look, with the look's α (the studies spend α over
looks, ``app.studies.verdicts``). Testing every pair at that α calls *some* pair of five identical variants
"better" 9–11 % of the time. Here, within the look:

* **variances**: each variant's per-seed variance is moderated toward the study's frozen noise reference
  (``noise.moderate``), so three identical seeds never give p = 0, and a variant whose own variance is
  implausibly large keeps it with its own df;
* **test**: Welch's t on the difference of means, SE² = s̃_a²/n_a + s̃_b²/n_b, with Welch–Satterthwaite df
  from the two moderated df (so a pair whose own variance exceeds the reference gets few df, never the
  pooled df);
* **equivalence**: TOST within ±δ (Schuirmann 1987), p = max of the two one-sided p-values;
* **Holm** (1979) across the m pairs, separately for the difference p-values and the equivalence p-values:
  each family's chance of any false claim ("better" between equal variants, "equivalent" between variants
  at least δ apart) is ≤ the look's α, with no independence assumption;
* verdict: "equivalent" if its Holm-adjusted p < α, else "a_better"/"b_better" if the difference's is,
  else "inconclusive". The reported interval of A − B is at level 1 − α/m (Bonferroni), so it holds for all
  pairs of the look together.

What the verdict covers: the difference of the two variants' accuracies on this benchmark's test set,
expected over training seeds (both variants are scored on the same images).

How many seeds would settle an inconclusive pair
------------------------------------------------
``seeds_needed`` returns the smallest number of seeds per variant at which the probability that this pair's
verdict is decisive *and right* ("equivalent" when |d| < δ, the right "better" when d ≠ 0) is ≥ 80 %, for
the observed difference taken at face value. The probability is computed exactly under normal seeds: a
two-dimensional quadrature over the two variants' sample variances (each χ²), through the same moderation,
Welch df and quantiles the verdict uses, at the Bonferroni level α/m (Holm only adds power). The normal
approximation it replaces ignored the t quantiles and the equivalence margin's interaction with the
variance; simulated power at its counts was 0.64 and 0.14. ``tests/stats/test_stats_pairs.py`` simulates the
verdict at the recommended counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any

import numpy as np
from scipy import special

from app.stats._ragged import ragged_moments
from app.stats._validate import FloatArray
from app.stats.noise import NoiseReference, moderate

POWER = 0.8
MAX_SEEDS_NEEDED = 100_000
QUADRATURE_POINTS = 32
"""Points per variance in the power quadrature (32² evaluations per candidate seed count; the midpoint rule
overstates power by < 0.005 against 128 points, hence ``QUADRATURE_MARGIN``)."""
QUADRATURE_MARGIN = 0.01


@dataclass(frozen=True)
class PairVerdict:
    """The verdict between variants ``a`` and ``b`` (indices into the grid's variants); diff = mean_a − mean_b."""

    a: int
    b: int
    kind: str
    diff: float
    se: float
    df: float
    ci_low: float
    ci_high: float
    p_difference: float
    p_difference_holm: float
    p_equivalence: float
    p_equivalence_holm: float
    seeds_needed: int | None


@dataclass(frozen=True)
class GridVerdicts:
    """All pair verdicts of one look, with what they were computed from."""

    means: list[float]
    n: list[int]
    pairs: list[PairVerdict]
    delta: float
    alpha: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return asdict(self)

    def kind(self, i: int, j: int) -> str:
        """The verdict from variant i's side: "better", "worse", "equivalent" or "inconclusive"."""
        for p in self.pairs:
            if (p.a, p.b) in ((i, j), (j, i)):
                if p.kind in ("a_better", "b_better"):
                    return "better" if (p.kind == "a_better") == (p.a == i) else "worse"
                return p.kind
        raise ValueError(f"no verdict between variants {i} and {j}")


def holm_adjust(pvalues: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values: p_adj(k) = max_{j ≤ k} min(1, (m − j + 1)·p_(j)); reject when p_adj < α."""
    p = np.asarray(pvalues, dtype=np.float64)
    m = p.size
    order = np.argsort(p, kind="stable")
    stepped = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = stepped
    return out.tolist()


def grid_verdicts(
    scores: Sequence[Sequence[float]],
    delta: float,
    alpha: float,
    ref: NoiseReference,
    *,
    with_seeds_needed: bool = True,
) -> GridVerdicts:
    """Per-pair verdicts of one look with Holm across the pairs (module docstring).

    ``scores[i]`` are variant i's per-seed accuracies (≥ 1 each), ``delta`` the equivalence margin and
    ``alpha`` the look's α, both fixed when the study was created, like ``ref``. Inconclusive pairs get
    ``seeds_needed`` (~0.05 s each) unless ``with_seeds_needed`` is False.
    """
    _check(delta, alpha)
    if len(scores) < 2:
        raise ValueError(f"a grid needs at least 2 variants, got {len(scores)}")
    moments = ragged_moments(scores, "variant score")
    if np.any(moments.n < 1):
        raise ValueError("every variant needs at least one finished seed")
    mod = moderate(moments.n, moments.var, ref)
    pairs = list(combinations(range(len(scores)), 2))
    a_idx, b_idx = np.array(pairs).T
    diff, se, df = _welch(moments.mean, mod.var / moments.n, mod.df, a_idx, b_idx)
    p_diff = 2.0 * special.stdtr(df, -np.abs(diff) / se)
    p_eq = np.maximum(special.stdtr(df, -(diff + delta) / se), special.stdtr(df, -(delta - diff) / se))
    holm_diff, holm_eq = holm_adjust(p_diff.tolist()), holm_adjust(p_eq.tolist())
    half = special.stdtrit(df, 1.0 - alpha / (2.0 * len(pairs))) * se
    sigma = np.sqrt((mod.var[a_idx] + mod.var[b_idx]) / 2.0)
    verdicts = []
    for i, (a, b) in enumerate(pairs):
        kind = _kind(holm_eq[i], holm_diff[i], float(diff[i]), alpha)
        needed = None
        if kind == "inconclusive" and with_seeds_needed:
            needed = seeds_needed(float(diff[i]), float(sigma[i]), delta, alpha, ref, n_pairs=len(pairs))
        verdicts.append(
            PairVerdict(
                a=a,
                b=b,
                kind=kind,
                diff=float(diff[i]),
                se=float(se[i]),
                df=float(df[i]),
                ci_low=float(diff[i] - half[i]),
                ci_high=float(diff[i] + half[i]),
                p_difference=float(p_diff[i]),
                p_difference_holm=holm_diff[i],
                p_equivalence=float(p_eq[i]),
                p_equivalence_holm=holm_eq[i],
                seeds_needed=needed,
            )
        )
    return GridVerdicts(moments.mean.tolist(), moments.n.tolist(), verdicts, delta, alpha)


def _welch(
    mean: FloatArray, var_of_mean: FloatArray, df_each: FloatArray, a: np.ndarray, b: np.ndarray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    va, vb = var_of_mean[a], var_of_mean[b]
    se2 = va + vb
    df = se2**2 / (va**2 / df_each[a] + vb**2 / df_each[b])
    return mean[a] - mean[b], np.sqrt(se2), df


def _kind(p_eq_holm: float, p_diff_holm: float, diff: float, alpha: float) -> str:
    if p_eq_holm < alpha:
        return "equivalent"
    if p_diff_holm < alpha:
        return "a_better" if diff > 0 else "b_better"
    return "inconclusive"


def _check(delta: float, alpha: float) -> None:
    if not delta > 0.0:
        raise ValueError(f"delta must be > 0, got {delta}")
    if not 0.0 < alpha < 0.5:
        raise ValueError(f"alpha must be in (0, 0.5), got {alpha}")


def verdict_power(
    n: int, diff: float, sigma: float, delta: float, alpha: float, ref: NoiseReference, n_pairs: int = 1
) -> float:
    """P(the verdict with n seeds per variant is decisive and right) for a true difference ``diff`` and
    per-seed std ``sigma`` of both variants, tested at α/n_pairs (see the module docstring)."""
    _check(delta, alpha)
    if n < 1 or sigma <= 0.0:
        raise ValueError(f"n must be >= 1 and sigma > 0, got n = {n}, sigma = {sigma}")
    level = alpha / n_pairs
    var_a, var_b, weight = _variance_grid(n, sigma)
    sizes = np.full(var_a.size, float(n))
    mod_a, mod_b = moderate(sizes, var_a, ref), moderate(sizes, var_b, ref)
    se2 = (mod_a.var + mod_b.var) / n
    df = se2**2 / ((mod_a.var / n) ** 2 / mod_a.df + (mod_b.var / n) ** 2 / mod_b.df)
    se, tau = np.sqrt(se2), sigma * np.sqrt(2.0 / n)
    shift, d = abs(diff) / tau, abs(diff)
    sig_edge = special.stdtrit(df, 1.0 - level / 2.0) * se / tau
    eq_edge = np.maximum((delta - special.stdtrit(df, 1.0 - level) * se) / tau, 0.0)
    p_sig = special.ndtr(shift - sig_edge)
    p_eq = np.maximum(special.ndtr(eq_edge - shift) - special.ndtr(-eq_edge - shift), 0.0)
    p_both = np.maximum(special.ndtr(eq_edge - shift) - special.ndtr(sig_edge - shift), 0.0)
    right = (p_eq if d < delta else 0.0) + ((p_sig - p_both) if d > 0.0 else 0.0)
    return float(np.sum(weight * right))


def _variance_grid(n: int, sigma: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Sample variances of the two variants on a product grid of χ²_{n−1} quantile midpoints, with weights."""
    if n == 1:
        return np.zeros(1), np.zeros(1), np.ones(1)
    g = QUADRATURE_POINTS
    u = (np.arange(g) + 0.5) / g
    var = sigma**2 * special.chdtri(n - 1.0, 1.0 - u) / (n - 1.0)
    var_a, var_b = np.meshgrid(var, var, indexing="ij")
    return var_a.ravel(), var_b.ravel(), np.full(g * g, 1.0 / (g * g))


def seeds_needed(
    diff: float,
    sigma: float,
    delta: float,
    alpha: float,
    ref: NoiseReference,
    n_pairs: int = 1,
    power: float = POWER,
) -> int:
    """Smallest seeds per variant with ``verdict_power`` ≥ ``power`` (capped at MAX_SEEDS_NEEDED)."""
    if sigma <= 0.0:
        return 2

    def enough(n: int) -> bool:
        return verdict_power(n, diff, sigma, delta, alpha, ref, n_pairs) >= power + QUADRATURE_MARGIN

    low, high = 1, 2
    while not enough(high):
        if high >= MAX_SEEDS_NEEDED:
            return MAX_SEEDS_NEEDED
        low, high = high, min(2 * high, MAX_SEEDS_NEEDED)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if enough(mid) else (mid, high)
    return max(high, 2)


def ranking_sentence(labels: Sequence[str], grid: GridVerdicts) -> str:
    """The grid as one plain ranking, e.g. "dwconv > pooling ≈ spatial_mlp > attention ≈ identity".

    Variants are ordered by mean. A ">" is written only where *every* variant before it was called better
    than every variant after it; the rest are joined by "≈" (equivalent or not separated). Pairs inside a
    "≈" group that were separated, or left undecided, are named after the ranking, so a non-transitive grid
    is never made to look cleaner than it is.
    """
    if len(labels) != len(grid.means):
        raise ValueError(f"{len(labels)} labels for {len(grid.means)} variants")
    order = sorted(range(len(labels)), key=lambda i: (-grid.means[i], i))
    groups: list[list[int]] = [[order[0]]]
    for pos in range(1, len(order)):
        above, below = order[:pos], order[pos:]
        if all(grid.kind(i, j) == "better" for i in above for j in below):
            groups.append([order[pos]])
        else:
            groups[-1].append(order[pos])
    text = " > ".join(" ≈ ".join(labels[i] for i in g) for g in groups)
    return text + _within_group_notes(labels, grid, groups)


def _within_group_notes(labels: Sequence[str], grid: GridVerdicts, groups: list[list[int]]) -> str:
    separated, undecided = [], []
    for group in groups:
        for x, y in combinations(group, 2):
            kind = grid.kind(x, y)
            if kind in ("better", "worse"):
                win, lose = (x, y) if kind == "better" else (y, x)
                separated.append(f"{labels[win]} > {labels[lose]}")
            elif kind == "inconclusive":
                undecided.append(f"{labels[x]} vs {labels[y]}")
    notes = []
    if separated:
        notes.append("within a group, " + ", ".join(separated))
    if undecided:
        notes.append("not all pairs decided: " + ", ".join(undecided) + " inconclusive")
    return f" ({'; '.join(notes)})" if notes else ""
