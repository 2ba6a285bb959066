"""Are two variants the same? Equivalence (TOST) and a four-way verdict, for studies ("swap the mixer").

"Not significantly different" is not "the same": with 3 seeds almost nothing is significant. Equivalence is
shown positively with two one-sided tests (TOST, Schuirmann 1987): the difference is shown to be above -δ
*and* below +δ, each at level α – equivalently, the (1 - 2α) confidence interval of the difference lies inside
(-δ, δ). Welch t-tests are used throughout because the two variants may differ in seed stability.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from app.stats._validate import FloatArray, as_finite_array, sample_var

POWER = 0.8
MAX_SEEDS_NEEDED = 100_000
"""Cap for ``seeds_needed`` so that a hopeless design reads as a huge number, never as infinity."""


@dataclass(frozen=True)
class _Welch:
    diff: float
    se: float
    df: float


def tost(a: Sequence[float], b: Sequence[float], delta: float, alpha: float = 0.05) -> dict[str, Any]:
    """Two one-sided Welch t-tests for mean(a) - mean(b) within ±delta (same units as the data).

    ``p_lower`` tests H0: diff ≤ -delta, ``p_upper`` tests H0: diff ≥ +delta; ``p`` = max of the two;
    ``equivalent`` = p < alpha. Also returns ``diff`` and the matching (1 - 2·alpha) interval
    ``ci_low``/``ci_high``. Needs ≥ 2 values per side.
    """
    _check_delta_alpha(delta, alpha)
    w = _welch(as_finite_array(a, "a", min_len=2), as_finite_array(b, "b", min_len=2))
    p_lower = _one_sided_p(w, shift=-delta, greater=True)
    p_upper = _one_sided_p(w, shift=delta, greater=False)
    half = _t_half_width(w, 1.0 - 2.0 * alpha)
    p = max(p_lower, p_upper)
    return {
        "diff": w.diff,
        "delta": delta,
        "alpha": alpha,
        "p_lower": p_lower,
        "p_upper": p_upper,
        "p": p,
        "equivalent": p < alpha,
        "ci_low": w.diff - half,
        "ci_high": w.diff + half,
    }


def verdict(a: Sequence[float], b: Sequence[float], delta: float, alpha: float = 0.05) -> dict[str, Any]:
    """Decide between variants a and b: "equivalent", "a_better", "b_better" or "inconclusive".

    Order of the decision: TOST-equivalent within ±delta → "equivalent" (the practical answer even if a tiny
    difference is also significant); else a two-sided Welch test at alpha → "a_better"/"b_better"; else
    "inconclusive". Two variants from one distribution are called different with probability ≤ alpha.

    ``seeds_needed`` approximates the seeds per variant for 80% power to settle the question, taking the
    observed difference d and pooled std σ at face value (normal approximation, Julious 2004): to show a
    difference n = 2σ²(z_{1-α/2} + z_{0.8})²/d²; to show equivalence n = 2σ²(z_{1-α} + z_{0.8})²/(δ - |d|)²
    (with z_{0.9} in place of z_{0.8} when d = 0); the smaller applicable one is reported. The sentence speaks
    in percentage points, assuming the data are accuracies as fractions.
    """
    _check_delta_alpha(delta, alpha)
    xa, xb = as_finite_array(a, "a", min_len=2), as_finite_array(b, "b", min_len=2)
    w = _welch(xa, xb)
    eq = tost(xa.tolist(), xb.tolist(), delta, alpha)
    p_diff = _two_sided_p(w)
    kind = _kind(eq["equivalent"], p_diff, w.diff, alpha)
    sigma = float(np.sqrt((sample_var(xa) + sample_var(xb)) / 2.0))
    n_needed = seeds_needed(w.diff, sigma, delta, alpha)
    half = _t_half_width(w, 1.0 - alpha)
    return {
        "kind": kind,
        "diff": w.diff,
        "ci_low": w.diff - half,
        "ci_high": w.diff + half,
        "p_difference": p_diff,
        "p_equivalence": eq["p"],
        "seeds_needed": n_needed,
        "sentence": _sentence(kind, w.diff, w.diff - half, w.diff + half, delta, alpha, n_needed),
    }


def seeds_needed(diff: float, sigma: float, delta: float, alpha: float = 0.05) -> int:
    """Approximate seeds per variant for 80% power (see ``verdict``), clipped to [2, MAX_SEEDS_NEEDED]."""
    if sigma == 0.0:
        return 2
    d = abs(diff)
    z = special.ndtri
    candidates = []
    if d > 0.0:
        candidates.append(2.0 * sigma**2 * (z(1 - alpha / 2) + z(POWER)) ** 2 / d**2)
    if d < delta:
        beta_z = z(1 - (1 - POWER) / 2) if d == 0.0 else z(POWER)
        candidates.append(2.0 * sigma**2 * (z(1 - alpha) + beta_z) ** 2 / (delta - d) ** 2)
    return int(min(MAX_SEEDS_NEEDED, max(2, int(np.ceil(min(candidates))))))


def _check_delta_alpha(delta: float, alpha: float) -> None:
    if not delta > 0.0:
        raise ValueError(f"delta must be > 0, got {delta}")
    if not 0.0 < alpha < 0.5:
        raise ValueError(f"alpha must be in (0, 0.5), got {alpha}")


def _welch(a: FloatArray, b: FloatArray) -> _Welch:
    va, vb = sample_var(a) / a.size, sample_var(b) / b.size
    se2 = va + vb
    df = se2**2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1)) if se2 > 0.0 else float(a.size + b.size - 2)
    return _Welch(diff=float(a.mean() - b.mean()), se=float(np.sqrt(se2)), df=float(df))


def _one_sided_p(w: _Welch, shift: float, greater: bool) -> float:
    """p-value of H1: diff > shift (greater) or diff < shift; with zero spread the data decide outright."""
    excess = w.diff - shift if greater else shift - w.diff
    if w.se == 0.0:
        return 0.0 if excess > 0.0 else 1.0
    return float(special.stdtr(w.df, -excess / w.se))


def _two_sided_p(w: _Welch) -> float:
    if w.se == 0.0:
        return 0.0 if w.diff != 0.0 else 1.0
    return float(2.0 * special.stdtr(w.df, -abs(w.diff) / w.se))


def _t_half_width(w: _Welch, confidence: float) -> float:
    return float(special.stdtrit(w.df, 0.5 + confidence / 2.0) * w.se) if w.se > 0.0 else 0.0


def _kind(equivalent: bool, p_diff: float, diff: float, alpha: float) -> str:
    if equivalent:
        return "equivalent"
    if p_diff < alpha:
        return "a_better" if diff > 0 else "b_better"
    return "inconclusive"


def _sentence(kind: str, diff: float, low: float, high: float, delta: float, alpha: float, n: int) -> str:
    def pts(x: float) -> str:
        return f"{round(100.0 * x, 1) + 0.0:.1f}"

    level = f"{round(100 * (1 - alpha))}%"
    ci = f"{level} interval {pts(low)} to {pts(high)} points"
    if kind == "equivalent":
        return f"The two variants perform the same within ±{pts(delta)} points (A - B = {pts(diff)} points)."
    if kind in ("a_better", "b_better"):
        winner = "A" if kind == "a_better" else "B"
        return f"Variant {winner} is better by {pts(abs(diff))} points ({ci} for A - B)."
    return (
        f"Inconclusive: A - B = {pts(diff)} points ({ci}); about {n} seeds per variant would settle it with 80% power."
    )
