"""The benchmark's seed noise, owned by the platform, and each entry's own variance moderated toward it.

Why a frozen reference
----------------------
Pooling the seed variance of every entry on a board lets any submitter set everyone's noise: one entry with
one diverged seed supplied 56 % of a board's pooled variance and tripled every interval. The noise of a
benchmark and recipe is instead measured once on platform-trained reference entries (the baselines, a
multi-seed reference), frozen in a ``NoiseReference`` and stored as JSON with the benchmark and recipe
version. A training-fraction variant is trained under a different regime: its reference is simply another
``NoiseReference`` measured on references trained at that fraction.

The robust estimator: a divergence screen, then a Huber M-estimator of the pooled variance
----------------------------------------------------------------------------------------
Each reference entry i gives a sample variance s_i² with ν_i = n_i − 1 degrees of freedom. Under normal seed
noise u_i = s_i²/σ² ~ χ²_ν/ν. The plain pooled variance solves Σ ν_i (u_i − 1) = 0, so one diverged seed
(u_i → ∞) moves it without bound. Two steps bound it:

1. **Huber's cap** (Huber 1964, applied to the variance ratios): σ² solves

       Σ ν_i · (min(s_i²/σ², c_i) − E[min(χ²_{ν_i}/ν_i, c_i)]) = 0,   c_i = 95 % quantile of χ²_{ν_i}/ν_i,

   so an unusually noisy entry counts as at most c_i ≈ 3 times the reference variance (ν = 2); the left side
   is monotone in σ², so the root is unique, and subtracting the expectation makes it unbiased for normal
   seeds. Alone, one diverged seed still raises σ by ~20 % (an entry at the cap outweighs a typical one).
2. **Divergence screen**: a seed more than DIVERGED_SIGMAS = 8 capped-estimate stds away from its entry's
   median (entries of ≥ 3 seeds, whose median one failed run cannot move) is not seed noise but a failed
   run; it is set aside (counted in ``seeds_set_aside``) and the capped estimate is recomputed. Normal
   seeds are never that far (probability ~1e-14 per seed); a run that fell to chance accuracy always is.

Measured in ``tests/stats/test_stats_noise.py``: one seed of one of 8 reference entries diverging to 10 %
leaves σ essentially unchanged, where the plain pooled std grows ~36-fold; with the screen switched off the
cap alone limits it to ~+20 %. Why not the median of the s_i²: with ν_i = 2 each s_i² is an exponential
variable and the median has ~50 % efficiency; why not per-seed MAD: with 3 seeds a diverged seed shifts its
entry's centre, contaminating all three residuals; why not a redescending ψ that rejects whole entries: its
estimating equation has several roots, and which one is found depends on the path. The price at the normal
model is small: the estimator's *effective* degrees of freedom (``df``, from its asymptotic variance in
closed form) are ≈ 92 % of Σν_i, and ``df`` is what every later t quantile uses.

The prior degrees of freedom d0 (how far to trust the reference for one entry)
------------------------------------------------------------------------------
An entry's own variance from 3 seeds has 2 df (its std is off by ~50 %); the reference has many. Empirical
Bayes (Smyth 2004, limma) models each architecture's true variance as scattered around σ_ref² with d0
"prior" degrees of freedom, estimated from how much the reference entries' log-variances scatter beyond
what χ² sampling explains (method of moments on log s_i², digamma/trigamma corrections). d0 is then clipped
to [D0_MIN, min(D0_MAX, df)]:

* ≤ df: the prior cannot carry more information than the reference it came from (d0 = df is exactly the
  pooled-ANOVA error term when all architectures share one noise level);
* ≤ D0_MAX = 20: with 8–20 reference entries the moment estimate is very noisy and often "infinite"; past
  ~20 df the t quantiles barely shrink even at the far-tail levels simultaneous board intervals use
  (t_{0.9996, 22} = 3.9 vs z = 3.4), while more prior weight would silence the entry's own spread;
* ≥ D0_MIN = 2: so three identical seeds still get a variance of at least d0·σ_ref²/(d0 + 2) = σ_ref²/2.

Moderated variance of one entry (Smyth 2004), and hypervariable entries
-----------------------------------------------------------------------
    s̃² = (d0_i·σ_ref² + (n − 1)·s²) / (d0_i + n − 1),   df = d0_i + n − 1.

A genuinely noisy architecture (a ViT without warm-up) must keep a wide interval, so, following Phipson et
al. 2016 (robust hyperparameters protect against hypervariable genes), an entry whose own variance is
implausibly large under the prior — upper-tail p of s²/σ_ref² under F(n − 1, d0) below OUTLIER_P —
gets a proportionally smaller prior weight d0_i = d0 · p / OUTLIER_P, falling to its own variance and own df
(Welch) as the evidence grows. OUTLIER_P = 0.2 (rather than 0.05) because with 3 seeds a 3× noisier
architecture is hard to recognise: measured, it lifts such an entry's 95 % coverage from 0.84 to 0.87 and
costs typical entries ~2 % of width. s̃² stays continuous and increasing in s², never zero, and an entry's value
depends only on its own seeds and the frozen reference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import optimize, special

from app.stats._ragged import ragged_moments
from app.stats._validate import FloatArray

D0_MIN = 2.0
D0_MAX = 20.0
CAP_QUANTILE = 0.95
"""Each reference entry's variance ratio is capped at this quantile of its χ²_ν/ν distribution."""
DIVERGED_SIGMAS = 8.0
"""A reference seed this many capped-estimate stds from its entry's median is a failed run, set aside."""
OUTLIER_P = 0.2
"""Entries whose own variance has an upper-tail p below this under the prior lose prior weight in proportion."""
METHOD = "screened-huber-pooled-variance"


@dataclass(frozen=True)
class NoiseReference:
    """A benchmark's per-seed noise (std of one seed's accuracy, same units as the scores), frozen.

    ``df`` is the effective degrees of freedom of ``sigma``'s estimate, ``prior_df`` the d0 used to moderate
    entries' variances toward it (see the module docstring), ``n_entries`` how many reference entries with
    ≥ 2 seeds it was measured on, ``method`` the estimator's name, ``seeds_set_aside`` how many diverged
    seeds the screen removed.
    """

    sigma: float
    df: float
    n_entries: int
    method: str
    prior_df: float
    seeds_set_aside: int = 0

    def __post_init__(self) -> None:
        if not (np.isfinite(self.sigma) and self.sigma > 0.0):
            raise ValueError(f"sigma must be finite and > 0, got {self.sigma}")
        if not (np.isfinite(self.df) and self.df > 0.0):
            raise ValueError(f"df must be finite and > 0, got {self.df}")
        if not (np.isfinite(self.prior_df) and 0.0 < self.prior_df <= self.df + 1e-9):
            raise ValueError(f"prior_df must be in (0, df = {self.df}], got {self.prior_df}")
        if self.n_entries < 1:
            raise ValueError(f"n_entries must be >= 1, got {self.n_entries}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (store it with the benchmark and recipe version)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NoiseReference:
        """Inverse of ``to_dict``; names the missing or mistyped key."""
        expected = {"sigma": float, "df": float, "n_entries": int, "method": str, "prior_df": float}
        if "seeds_set_aside" in data:
            expected["seeds_set_aside"] = int
        missing = sorted(set(expected) - set(data))
        if missing:
            raise ValueError(f"noise reference is missing {missing}; expected keys {sorted(expected)}")
        values: dict[str, Any] = {}
        for key, kind in expected.items():
            value = data[key]
            numeric = kind in (int, float) and isinstance(value, int | float) and not isinstance(value, bool)
            if not (numeric or isinstance(value, kind)) or (kind is int and value != int(value)):
                raise ValueError(f"noise reference field {key!r} must be {kind.__name__}, got {value!r}")
            values[key] = kind(value)
        return cls(**values)


def reference_from_entries(entries: Sequence[Sequence[float]]) -> NoiseReference:
    """Measure a ``NoiseReference`` from platform-trained reference entries' per-seed scores.

    Entries with fewer than 2 seeds carry no spread and are skipped. Needs at least one entry with ≥ 2 seeds
    and some spread among them.
    """
    first = _usable_moments(entries)
    screened, dropped = screen_diverged(entries, float(np.sqrt(huber_pooled_variance(*first)[0])))
    var, nu = _usable_moments(screened) if dropped else first
    sigma2, df = huber_pooled_variance(var, nu)
    d0 = float(np.clip(prior_df_moments(var, nu), D0_MIN, min(D0_MAX, df)))
    return NoiseReference(
        sigma=float(np.sqrt(sigma2)),
        df=df,
        n_entries=int(nu.size),
        method=METHOD,
        prior_df=d0,
        seeds_set_aside=dropped,
    )


def _usable_moments(entries: Sequence[Sequence[float]]) -> tuple[FloatArray, FloatArray]:
    """Sample variances and their df of the entries with ≥ 2 seeds; refuses data without any spread."""
    moments = ragged_moments(entries, "reference entry")
    usable = moments.n >= 2
    var, nu = moments.var[usable], (moments.n[usable] - 1).astype(np.float64)
    if nu.size == 0:
        raise ValueError("a noise reference needs at least one entry with 2 or more seeds")
    if not np.any(var > 0.0):
        raise ValueError("the reference entries show no seed-to-seed spread at all; measure more seeds")
    return var, nu


def huber_pooled_variance(variances: FloatArray, dfs: FloatArray) -> tuple[float, float]:
    """The capped-ratio M-estimate of the pooled variance and its effective df (module docstring, step 1)."""
    cap = special.chdtri(dfs, 1.0 - CAP_QUANTILE) / dfs
    mean_min, mean_below, var_min = _capped_chi2_moments(dfs, cap)
    target = float((dfs * mean_min).sum())

    def excess(log_theta: float) -> float:
        return float((dfs * np.minimum(variances / np.exp(log_theta), cap)).sum()) - target

    positive = variances[variances > 0.0]
    low, high = float(np.log(positive.min())) - 10.0, float(np.log(positive.max())) + 10.0
    if excess(low) <= 0.0:  # almost every entry has zero spread: the cap cannot be met; use the plain pool
        theta = float((dfs * variances).sum() / dfs.sum())
    else:
        theta = float(np.exp(optimize.brentq(excess, low, high, xtol=1e-12)))
    relative_var = float((dfs**2 * var_min).sum()) / float((dfs * mean_below).sum()) ** 2
    return theta, 2.0 / relative_var


def _capped_chi2_moments(nu: FloatArray, cap: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """For u ~ χ²_ν/ν: E[min(u, c)], E[u·1{u < c}] and Var(min(u, c)), in closed form.

    Uses x·f_ν(x) = ν·f_{ν+2}(x): E[u·1{u<c}] = P(χ²_{ν+2} < νc), E[u²·1{u<c}] = (ν+2)/ν·P(χ²_{ν+4} < νc).
    The effective df follow from the M-estimator's asymptotic variance Σν²Var(min) / (Σν·E[u·1{u<c}])².
    """
    x = nu * cap
    tail = special.chdtrc(nu, x)
    below = special.chdtr(nu + 2.0, x)
    below_sq = (nu + 2.0) / nu * special.chdtr(nu + 4.0, x)
    mean_min = below + cap * tail
    var_min = below_sq + cap**2 * tail - mean_min**2
    return mean_min, below, var_min


def screen_diverged(entries: Sequence[Sequence[float]], scale: float) -> tuple[list[list[float]], int]:
    """Drop seeds farther than DIVERGED_SIGMAS·scale from their entry's median (entries with ≥ 3 seeds, whose
    median one failed run cannot move; with 2 seeds neither can be told to be the failed one).
    Returns (entries, seeds dropped)."""
    kept_entries, dropped = [], 0
    for entry in entries:
        values = np.asarray(entry, dtype=np.float64)
        if values.size < 3:
            kept_entries.append(values.tolist())
            continue
        keep = np.abs(values - np.median(values)) <= DIVERGED_SIGMAS * scale
        dropped += int((~keep).sum())
        kept_entries.append(values[keep].tolist())
    return kept_entries, dropped


def prior_df_moments(variances: FloatArray, dfs: FloatArray) -> float:
    """Smyth's (2004) moment estimate of the prior df d0 from the scatter of log variances (may be inf).

    e_i = log s_i² − ψ(ν_i/2) + log(ν_i/2) has variance ψ'(ν_i/2) + ψ'(d0/2); the excess of the observed
    scatter over the mean ψ'(ν_i/2) estimates ψ'(d0/2). Zero variances (no log) and fewer than 3 usable
    entries give inf (no evidence of heterogeneity: the caller's cap applies).
    """
    keep = variances > 0.0
    if int(keep.sum()) < 3:
        return float("inf")
    nu = dfs[keep]
    e = np.log(variances[keep]) - special.digamma(nu / 2.0) + np.log(nu / 2.0)
    excess = float(e.var(ddof=1) - special.polygamma(1, nu / 2.0).mean())
    if excess <= 0.0:
        return float("inf")
    return 2.0 * _inverse_trigamma(excess)


def _inverse_trigamma(y: float) -> float:
    """x with ψ'(x) = y (ψ' is decreasing from +inf to 0), by bracketing on log x."""
    return float(np.exp(optimize.brentq(lambda t: float(special.polygamma(1, np.exp(t))) - y, -30.0, 30.0)))


@dataclass(frozen=True)
class Moderated:
    """Arrays (one value per entry): moderated per-seed variance, its df, and the prior df each entry got."""

    var: FloatArray
    df: FloatArray
    prior_df: FloatArray


def moderate(n: np.ndarray, var: FloatArray, ref: NoiseReference) -> Moderated:
    """Moderated variances s̃² and df for entries with ``n`` seeds and sample variances ``var`` (vectorised).

    n = 1 (no own spread) gives the reference variance with df = d0; n = 0 gives NaN.
    """
    n = np.asarray(n, dtype=np.float64)
    own_df = np.maximum(n - 1.0, 0.0)
    ratio = var / ref.sigma**2
    with np.errstate(invalid="ignore", divide="ignore"):
        p_high = np.where(own_df > 0.0, special.fdtrc(np.maximum(own_df, 1.0), ref.prior_df, ratio), 1.0)
    d0 = ref.prior_df * np.minimum(1.0, p_high / OUTLIER_P)
    total_df = d0 + own_df
    with np.errstate(invalid="ignore", divide="ignore"):
        mod = np.where(n > 0, (d0 * ref.sigma**2 + own_df * var) / total_df, np.nan)
    return Moderated(var=mod, df=np.where(n > 0, total_df, np.nan), prior_df=d0)


def moderated_variance(scores: Sequence[float], ref: NoiseReference) -> tuple[float, float]:
    """One entry's moderated per-seed variance and its degrees of freedom (needs ≥ 1 score)."""
    if len(scores) == 0:
        raise ValueError("an entry needs at least one score")
    moments = ragged_moments([scores])
    m = moderate(moments.n, moments.var, ref)
    return float(m.var[0]), float(m.df[0])
