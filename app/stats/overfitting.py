"""Overfitting signals, and plain-language notes a reader understands without statistics.

Three kinds of overfitting show up on a leaderboard:

* to the training set: train accuracy far above test accuracy (a property of the architecture under the
  recipe);
* to the reused test set: an entry that does worse on a fresh second test set than its first-test accuracy
  predicts (Recht et al. 2019 found the second-test drop is nearly linear in first-test accuracy across
  models, so the residual from that line, not the raw drop, is the signal);
* by repeated tries: the best of k noisy submissions beats the typical one by ``expected_max_of_k`` from seed
  noise alone (Dodge et al. 2019, "Show your work").
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from app.stats._validate import as_finite_array
from app.stats.luck import expected_max_std_normal

FLAG_SIGMAS = 2.0
"""Second-test residuals more than this many (leave-one-out) residual stds below the line are flagged."""

MIN_ENTRIES_FOR_FLAGS = 4
"""Leave-one-out needs a line (2 points) plus ≥ 1 residual degree of freedom from the *other* entries."""

MILD_OVERFIT_POINTS = 3.0
STRONG_OVERFIT_POINTS = 10.0
"""Train-minus-test gaps (percentage points) called mild / strong overfitting in notes."""

VAL_TEST_GAP_POINTS = 2.0
"""A validation-vs-test gap above this (and above seed noise) gets a note."""


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


def second_test_residuals(first: Sequence[float], second: Sequence[float]) -> dict[str, Any]:
    """Fit second = slope·first + intercept over a benchmark's entries and flag entries far below the line.

    Returns ``slope``, ``intercept``, ``residuals`` (second - fitted, per entry), ``sigma`` (residual std of
    the fit, ddof = number of fitted parameters), ``studentized`` and ``flags``.

    Flags use leave-one-out (externally studentized) residuals: entry i is flagged when its residual is more
    than 2 standard errors below the line fitted *without it*. An in-sample rule "residual < -2σ" cannot work
    on a small board because the outlier drags the line and inflates σ: with n points the largest in-sample
    |residual|/σ is at most √(n-2), so with 3–6 entries it never fires. Hence flags need ≥ 4 entries; below
    that every flag is False and ``studentized`` is None. A constant ``first`` (or a single entry) is fitted
    with slope 0 (the prediction is the mean of ``second``).
    """
    x = as_finite_array(first, "first")
    y = as_finite_array(second, "second")
    if x.size != y.size:
        raise ValueError(f"first and second must have the same length, got {x.size} and {y.size}")
    slope, intercept, n_params = _line_fit(x, y)
    residuals = y - (slope * x + intercept)
    df = x.size - n_params
    sigma = float(np.sqrt((residuals**2).sum() / df)) if df > 0 else 0.0
    studentized = _external_studentized(x, residuals, n_params)
    flags = [t is not None and t < -FLAG_SIGMAS for t in studentized]
    return {
        "n": int(x.size),
        "slope": slope,
        "intercept": intercept,
        "residuals": residuals.tolist(),
        "sigma": sigma,
        "studentized": studentized,
        "flags": flags,
    }


def entry_notes(
    *,
    train_acc: float | None,
    val_acc: float | None,
    test_acc: float,
    test_std: float | None,
    n_seeds: int,
    second_residual: float | None = None,
    second_sigma: float | None = None,
    k_th_try: int | None = None,
    gain_over_previous_best: float | None = None,
    noise_std: float | None = None,
) -> list[str]:
    """Short plain-language sentences about one entry, for readers without statistics.

    Accuracies (and stds, residuals, gains) are fractions in [0, 1]; the sentences speak in percentage points
    with one decimal.

    ``noise_std`` is the benchmark's per-seed noise floor (``ranking.noise_floor``); each try's score is a
    mean over ``n_seeds`` seeds, so the best-of-k gain uses noise_std/√n_seeds.
    """
    notes = [_seed_note(n_seeds, test_std)]
    notes += _optional(_train_note(train_acc, test_acc))
    notes += _optional(_val_note(val_acc, test_acc, test_std, n_seeds))
    notes += _optional(_second_test_note(second_residual, second_sigma))
    notes += _optional(_tries_note(k_th_try, gain_over_previous_best, noise_std, n_seeds))
    return notes


# --- fits ---------------------------------------------------------------------------------------------------


def _line_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float, int]:
    """Least-squares line: (slope, intercept, number of fitted parameters); constant x → slope 0, 1 param."""
    if x.size < 2 or np.ptp(x) == 0.0:
        return 0.0, float(y.mean()), 1
    fit = stats.linregress(x, y)
    return float(fit.slope), float(fit.intercept), 2


def _hat_values(x: np.ndarray, n_params: int) -> np.ndarray:
    if n_params == 1:
        return np.full(x.size, 1.0 / x.size)
    return 1.0 / x.size + (x - x.mean()) ** 2 / ((x - x.mean()) ** 2).sum()


def _external_studentized(x: np.ndarray, residuals: np.ndarray, n_params: int) -> list[float | None]:
    """t_i = r_i / (s_(i)·√(1-h_i)), s_(i) = residual std of the fit without entry i; None if undefined."""
    df_loo = x.size - n_params - 1
    if x.size < MIN_ENTRIES_FOR_FLAGS or df_loo < 1:
        return [None] * x.size
    h = _hat_values(x, n_params)
    ssr = float((residuals**2).sum())
    out: list[float | None] = []
    for r, h_i in zip(residuals.tolist(), h.tolist(), strict=True):
        if h_i > 1.0 - 1e-9:  # the others share one x: without this entry there is no line to predict it
            out.append(None)
            continue
        s2_loo = max(ssr - r**2 / (1.0 - h_i), 0.0) / df_loo
        out.append(r / np.sqrt(s2_loo * (1.0 - h_i)) if s2_loo > 1e-24 else None)
    return [None if t is None else float(t) for t in out]


# --- notes --------------------------------------------------------------------------------------------------


def _optional(note: str | None) -> list[str]:
    return [] if note is None else [note]


def _pts(fraction: float) -> str:
    """Percentage points with one decimal, never "-0.0"."""
    value = round(100.0 * fraction, 1)
    return f"{value + 0.0:.1f}"


def _ordinal(k: int) -> str:
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def _seed_note(n_seeds: int, test_std: float | None) -> str:
    if n_seeds <= 1:
        return "Trained 1 seed only; its seed-to-seed variation is unknown, so treat small gaps with care."
    if test_std is None:
        return f"Trained {n_seeds} seeds."
    return f"Trained {n_seeds} seeds; test accuracy varies by ±{_pts(test_std)} points between seeds."


def _train_note(train_acc: float | None, test_acc: float) -> str | None:
    if train_acc is None:
        return None
    gap = train_acc - test_acc
    if gap < 0.0:
        return f"Train accuracy is {_pts(-gap)} points below test accuracy: no sign of overfitting."
    if 100.0 * gap >= STRONG_OVERFIT_POINTS:
        verdict = "strong overfitting"
    elif 100.0 * gap >= MILD_OVERFIT_POINTS:
        verdict = "some overfitting"
    else:
        verdict = "little overfitting"
    return f"Train accuracy is {_pts(gap)} points above test accuracy: {verdict}."


def _val_note(val_acc: float | None, test_acc: float, test_std: float | None, n_seeds: int) -> str | None:
    if val_acc is None:
        return None
    gap = val_acc - test_acc
    noise = 2.0 * (test_std or 0.0) / np.sqrt(max(n_seeds, 1))
    if abs(gap) * 100.0 < VAL_TEST_GAP_POINTS or abs(gap) <= noise:
        return None
    side = "above" if gap > 0 else "below"
    return (
        f"Validation accuracy is {_pts(abs(gap))} points {side} test accuracy: "
        "the validation split is not a reliable preview of the test set here."
    )


def _second_test_note(residual: float | None, sigma: float | None) -> str | None:
    if residual is None:
        return None
    amount, side = _pts(abs(residual)), ("below" if residual < 0 else "above")
    base = f"On the second test set it scores {amount} points {side} what its first-test accuracy predicts"
    if sigma is None or sigma <= 0.0:
        return base + "."
    if residual < -FLAG_SIGMAS * sigma:
        return base + ": it may be tuned to the first test set."
    if residual > FLAG_SIGMAS * sigma:
        return base + ": it generalizes better than most entries."
    return base + ", which is within the usual spread between entries."


def _tries_note(k_th_try: int | None, gain: float | None, noise_std: float | None, n_seeds: int) -> str | None:
    if k_th_try is None or k_th_try < 2 or noise_std is None:
        return None
    luck = expected_max_of_k(k_th_try, noise_std / np.sqrt(max(n_seeds, 1)))
    head = (
        f"This is the submitter's {_ordinal(k_th_try)} try on this benchmark; "
        f"picking the best of {k_th_try} tries gains about {_pts(luck)} points from seed noise alone"
    )
    if gain is None:
        return head + "."
    if gain <= 0.0:
        return head + f"; this try is {_pts(-gain)} points below their previous best."
    if gain <= luck:
        return head + f", so the {_pts(gain)}-point improvement over their previous best is within noise."
    return head + f", and the {_pts(gain)}-point improvement over their previous best is larger than that."
