"""overfitting: E[max of k] against closed forms and Monte Carlo, residual flags against brute-force refits,
and the exact sentences of entry_notes."""

import math
from collections.abc import Callable

import numpy as np
import pytest

from app.stats.luck import expected_max_of_k
from app.stats.overfitting import entry_notes


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


def test_entry_notes_brief_examples() -> None:
    notes = entry_notes(
        train_acc=0.950,
        val_acc=0.830,
        test_acc=0.827,
        test_std=0.004,
        n_seeds=3,
    )
    assert notes == [
        "Trained 3 seeds; test accuracy varies by ±0.4 points between seeds.",
        "Train accuracy is 12.3 points above test accuracy: strong overfitting.",
    ]


def test_entry_notes_other_branches() -> None:
    notes = entry_notes(
        train_acc=0.90,
        val_acc=0.95,
        test_acc=0.89,
        test_std=None,
        n_seeds=1,
    )
    assert notes == [
        "Trained 1 seed only; its seed-to-seed variation is unknown, so treat small gaps with care.",
        "Train accuracy is 1.0 points above test accuracy: little overfitting.",
        "Validation accuracy is 6.0 points above test accuracy: "
        "the validation split is not a reliable preview of the test set here.",
    ]


def test_entry_notes_minimal_and_edge_wording() -> None:
    assert entry_notes(train_acc=None, val_acc=None, test_acc=0.5, test_std=0.0, n_seeds=4) == [
        "Trained 4 seeds; test accuracy varies by ±0.0 points between seeds."
    ]
    notes = entry_notes(train_acc=0.80, val_acc=0.805, test_acc=0.85, test_std=0.01, n_seeds=3)
    assert notes == [
        "Trained 3 seeds; test accuracy varies by ±1.0 points between seeds.",
        "Train accuracy is 5.0 points below test accuracy: no sign of overfitting.",
        "Validation accuracy is 4.5 points below test accuracy: "
        "the validation split is not a reliable preview of the test set here.",
    ]
    mild = entry_notes(train_acc=0.90, val_acc=None, test_acc=0.85, test_std=0.01, n_seeds=3)
    assert mild[1] == "Train accuracy is 5.0 points above test accuracy: some overfitting."
