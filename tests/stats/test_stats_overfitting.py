"""overfitting: E[max of k] against closed forms and Monte Carlo, residual flags against brute-force refits,
and the exact sentences of entry_notes."""

import math
from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats

from app.stats.overfitting import entry_notes, expected_max_of_k, second_test_residuals


def test_expected_max_closed_forms() -> None:
    assert expected_max_of_k(1, 0.02) == 0.0
    assert expected_max_of_k(2, 1.0) == pytest.approx(1 / math.sqrt(math.pi), abs=1e-9)
    assert expected_max_of_k(2, 0.5) == pytest.approx(0.5 / math.sqrt(math.pi), abs=1e-9)
    assert expected_max_of_k(3, 1.0) == pytest.approx(3 / (2 * math.sqrt(math.pi)), abs=1e-9)
    assert expected_max_of_k(10, 1.0) == pytest.approx(1.538753, abs=1e-6)  # tabulated value
    assert expected_max_of_k(5, 0.0) == 0.0


@pytest.mark.simulation
def test_expected_max_matches_monte_carlo(report: Callable[[str], None]) -> None:
    rng = np.random.default_rng(0)
    for k in (4, 20, 200):
        maxima = rng.normal(0.0, 2.0, size=(20000, k)).max(axis=1)
        se = maxima.std() / math.sqrt(maxima.size)
        ours = expected_max_of_k(k, 2.0)
        mc = f"Monte Carlo (20000 draws) {maxima.mean():.4f} ± {se:.4f}"
        report(f"expected_max_of_k({k}, 2.0) = {ours:.4f}; {mc}")
        assert ours == pytest.approx(maxima.mean(), abs=4 * se)


def test_expected_max_grows_with_k_and_refuses_bad_input() -> None:
    values = [expected_max_of_k(k, 1.0) for k in (1, 2, 5, 50, 10_000)]
    assert values == sorted(values)
    with pytest.raises(ValueError):
        expected_max_of_k(0, 1.0)
    with pytest.raises(ValueError):
        expected_max_of_k(3, -1.0)


def _board_with_outlier() -> tuple[list[float], list[float]]:
    first = [0.70, 0.75, 0.80, 0.85, 0.88, 0.90, 0.92, 0.95]
    wiggle = [0.004, -0.003, 0.002, -0.004, 0.003, -0.002, 0.001, -0.001]
    second = [0.9 * x - 0.05 + w for x, w in zip(first, wiggle, strict=True)]
    second[5] -= 0.05  # tuned to the first test set
    return first, second


def test_second_test_residuals_flags_the_outlier_only() -> None:
    first, second = _board_with_outlier()
    result = second_test_residuals(first, second)
    assert result["flags"] == [False, False, False, False, False, True, False, False]
    fit = stats.linregress(first, second)
    assert result["slope"] == pytest.approx(fit.slope)
    assert result["intercept"] == pytest.approx(fit.intercept)
    fitted = fit.slope * np.array(first) + fit.intercept
    assert result["residuals"] == pytest.approx((np.array(second) - fitted).tolist())
    assert result["sigma"] == pytest.approx(math.sqrt(((np.array(second) - fitted) ** 2).sum() / 6))


def test_studentized_residuals_equal_brute_force_leave_one_out() -> None:
    first, second = _board_with_outlier()
    x, y = np.array(first), np.array(second)
    studentized = second_test_residuals(first, second)["studentized"]
    for i in range(x.size):
        keep = np.arange(x.size) != i
        fit = stats.linregress(x[keep], y[keep])
        resid = y[keep] - (fit.slope * x[keep] + fit.intercept)
        s = math.sqrt((resid**2).sum() / (keep.sum() - 2))
        xk = x[keep]
        se = s * math.sqrt(1 + 1 / xk.size + (x[i] - xk.mean()) ** 2 / ((xk - xk.mean()) ** 2).sum())
        assert studentized[i] == pytest.approx((y[i] - (fit.slope * x[i] + fit.intercept)) / se)


def test_second_test_residuals_small_boards_never_flag() -> None:
    three = second_test_residuals([0.7, 0.8, 0.9], [0.6, 0.5, 0.8])
    assert three["flags"] == [False, False, False]
    assert three["studentized"] == [None, None, None]
    one = second_test_residuals([0.9], [0.8])
    assert (one["slope"], one["intercept"], one["residuals"], one["sigma"]) == (0.0, 0.8, [0.0], 0.0)
    flat = second_test_residuals([0.9, 0.9, 0.9, 0.9], [0.8, 0.82, 0.78, 0.8])
    assert flat["slope"] == 0.0
    assert flat["intercept"] == pytest.approx(0.8)
    lever = second_test_residuals([0.9, 0.9, 0.9, 0.9, 0.5], [0.8, 0.81, 0.79, 0.8, 0.2])
    assert lever["studentized"][4] is None  # the others share one x: no line without it
    assert lever["flags"][4] is False
    with pytest.raises(ValueError):
        second_test_residuals([0.9, 0.8], [0.7])


def test_entry_notes_brief_examples() -> None:
    notes = entry_notes(
        train_acc=0.950,
        val_acc=0.830,
        test_acc=0.827,
        test_std=0.004,
        n_seeds=3,
        second_residual=-0.041,
        second_sigma=0.01,
        k_th_try=5,
        gain_over_previous_best=0.004,
        noise_std=0.009,  # per seed; a 3-seed mean has std 0.0052 → best of 5 gains 1.163 × 0.0052 ≈ 0.6
    )
    assert notes == [
        "Trained 3 seeds; test accuracy varies by ±0.4 points between seeds.",
        "Train accuracy is 12.3 points above test accuracy: strong overfitting.",
        "On the second test set it scores 4.1 points below what its first-test accuracy predicts: "
        "it may be tuned to the first test set.",
        "This is the submitter's 5th try on this benchmark; picking the best of 5 tries gains about "
        "0.6 points from seed noise alone, so the 0.4-point improvement over their previous best "
        "is within noise.",
    ]


def test_entry_notes_other_branches() -> None:
    notes = entry_notes(
        train_acc=0.90,
        val_acc=0.95,
        test_acc=0.89,
        test_std=None,
        n_seeds=1,
        second_residual=0.003,
        second_sigma=0.01,
        k_th_try=2,
        gain_over_previous_best=0.02,
        noise_std=0.01,
    )
    assert notes == [
        "Trained 1 seed only; its seed-to-seed variation is unknown, so treat small gaps with care.",
        "Train accuracy is 1.0 points above test accuracy: little overfitting.",
        "Validation accuracy is 6.0 points above test accuracy: "
        "the validation split is not a reliable preview of the test set here.",
        "On the second test set it scores 0.3 points above what its first-test accuracy predicts, "
        "which is within the usual spread between entries.",
        "This is the submitter's 2nd try on this benchmark; picking the best of 2 tries gains about "
        "0.6 points from seed noise alone, and the 2.0-point improvement over their previous best "
        "is larger than that.",
    ]


def test_entry_notes_minimal_and_edge_wording() -> None:
    assert entry_notes(train_acc=None, val_acc=None, test_acc=0.5, test_std=0.0, n_seeds=4) == [
        "Trained 4 seeds; test accuracy varies by ±0.0 points between seeds."
    ]
    notes = entry_notes(
        train_acc=0.80, val_acc=0.805, test_acc=0.85, test_std=0.01, n_seeds=3, k_th_try=1, noise_std=0.01
    )
    assert notes == [
        "Trained 3 seeds; test accuracy varies by ±1.0 points between seeds.",
        "Train accuracy is 5.0 points below test accuracy: no sign of overfitting.",
        "Validation accuracy is 4.5 points below test accuracy: "
        "the validation split is not a reliable preview of the test set here.",
    ]
    mild = entry_notes(train_acc=0.90, val_acc=None, test_acc=0.85, test_std=0.01, n_seeds=3)
    assert mild[1] == "Train accuracy is 5.0 points above test accuracy: some overfitting."
    worse = entry_notes(
        train_acc=None,
        val_acc=None,
        test_acc=0.85,
        test_std=0.01,
        n_seeds=3,
        k_th_try=3,
        gain_over_previous_best=-0.002,
        noise_std=0.01,
    )
    assert worse[1].endswith("; this try is 0.2 points below their previous best.")
