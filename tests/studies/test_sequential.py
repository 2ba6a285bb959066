"""The looks rule in simulation: verdicts after the first seeds, seeds added while inconclusive, at most
MAX_LOOKS looks with the α spent across them (app/studies/verdicts.py).

Two variants from the same distribution must be called different ("A better"/"B better") at most at the
nominal 5% overall, looks included; two variants 3δ apart must be called different with the power the page
quotes (SIMULATED_POWER_3DELTA). Seeded, so the measured rates are exact and reproducible."""

from __future__ import annotations

import numpy as np

from app.stats.noise import NoiseReference
from app.stats.pairs import grid_verdicts
from app.studies.verdicts import ALPHA_SPENDING, MAX_LOOKS, SIMULATED_POWER_3DELTA, alpha_at

SIGMA = 0.01  # seed std of test accuracy (1 point)
DELTA = 2 * SIGMA  # the study's δ: 2 × the reference's seed σ
REF = NoiseReference(sigma=SIGMA, df=20.0, n_entries=8, method="simulation", prior_df=8.0)
FIRST_SEEDS, ADDED_SEEDS = 3, 3  # 3 → 6 → 9 seeds, within digits' max_seeds of 10
TRIALS = 2000


def run_study(rng: np.random.Generator, true_diff: float) -> tuple[str, int]:
    """One study of two variants: the final verdict and the look it came at."""
    a = list(rng.normal(0.90 + true_diff, SIGMA, FIRST_SEEDS))
    b = list(rng.normal(0.90, SIGMA, FIRST_SEEDS))
    for look in range(1, MAX_LOOKS + 1):
        kind = grid_verdicts([a, b], DELTA, alpha_at(look), REF, with_seeds_needed=False).pairs[0].kind
        if kind != "inconclusive" or look == MAX_LOOKS:
            return kind, look
        a += list(rng.normal(0.90 + true_diff, SIGMA, ADDED_SEEDS))
        b += list(rng.normal(0.90, SIGMA, ADDED_SEEDS))
    raise AssertionError("unreachable")


def rates(true_diff: float, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    outcomes = [run_study(rng, true_diff) for _ in range(TRIALS)]
    kinds = [k for k, _ in outcomes]
    return {
        "different": sum(k in ("a_better", "b_better") for k in kinds) / TRIALS,
        "equivalent": kinds.count("equivalent") / TRIALS,
        "inconclusive": kinds.count("inconclusive") / TRIALS,
        "mean_looks": float(np.mean([look for _, look in outcomes])),
    }


def test_alpha_spending_sums_to_the_nominal_rate() -> None:
    assert sum(ALPHA_SPENDING) == 0.05 and MAX_LOOKS == 3
    assert [alpha_at(k) for k in (1, 2, 3)] == [0.025, 0.0125, 0.0125]


def test_same_distribution_called_different_at_most_at_nominal_alpha() -> None:
    r = rates(0.0, seed=1)
    print(f"null, {TRIALS} studies: {r}")
    # The Bonferroni bound holds exactly in expectation; 2 binomial SEs (~0.007) of slack for a finite sample.
    assert r["different"] <= sum(ALPHA_SPENDING) + 2 * np.sqrt(0.05 * 0.95 / TRIALS)
    assert r["mean_looks"] > 1.0  # the rule was exercised: some studies took more looks


def test_power_at_three_delta() -> None:
    r = rates(3 * DELTA, seed=2)
    print(f"3δ apart, {TRIALS} studies: {r}")
    assert r["different"] >= SIMULATED_POWER_3DELTA
