"""Plain-language notes about one entry that a reader understands without statistics: its seed spread, the gap
between train and test accuracy (overfitting to the training set, a property of the architecture under the
recipe), and validation as a preview of the test set.

The other two kinds of overfitting have their own modules: to the reused public test set, the public-minus-
private gap (``holdout``); by repeated tries, the best of k near-variants (``luck``)."""

import numpy as np

MILD_OVERFIT_POINTS = 3.0
STRONG_OVERFIT_POINTS = 10.0
"""Train-minus-test gaps (percentage points) called mild / strong overfitting in notes."""

VAL_TEST_GAP_POINTS = 2.0
"""A validation-vs-test gap above this (and above seed noise) gets a note."""


def entry_notes(
    *,
    train_acc: float | None,
    val_acc: float | None,
    test_acc: float,
    test_std: float | None,
    n_seeds: int,
) -> list[str]:
    """Short plain-language sentences about one entry, for readers without statistics.

    Accuracies (and stds, residuals, gains) are fractions in [0, 1]; the sentences speak in percentage points
    with one decimal.
    """
    notes = [_seed_note(n_seeds, test_std)]
    notes += _optional(_train_note(train_acc, test_acc))
    notes += _optional(_val_note(val_acc, test_acc, test_std, n_seeds))
    return notes


# --- fits ---------------------------------------------------------------------------------------------------


def _optional(note: str | None) -> list[str]:
    return [] if note is None else [note]


def _pts(fraction: float) -> str:
    """Percentage points with one decimal, never "-0.0"."""
    value = round(100.0 * fraction, 1)
    return f"{value + 0.0:.1f}"


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
