"""ranking: Welch p-values vs scipy, Holm by hand, false-separation rate and power by simulation."""

import itertools
import math
from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats

from app.stats.ranking import adjacent_pvalues, holm_reject, noise_floor, pooled_std, rank_groups


def test_pooled_std_by_hand() -> None:
    # [1, 2, 3]: SS 2 (df 2); [4, 6]: SS 2 (df 1); [5] has no spread to offer → sqrt(4 / 3), df 3
    assert pooled_std([[1, 2, 3], [4, 6], [5]]) == (pytest.approx(math.sqrt(4 / 3)), 3)
    assert noise_floor([[1, 2, 3], [4, 6], [5]]) == pytest.approx(math.sqrt(4 / 3))
    assert pooled_std([[1.0], [2.0]]) == (0.0, 0)
    assert noise_floor([]) == 0.0


def test_adjacent_pvalues_are_welch_ttests() -> None:
    samples = [[0.95, 0.96, 0.94], [0.90, 0.92, 0.91, 0.89], [0.88, 0.90, 0.86]]
    expected = [
        stats.ttest_ind(samples[0], samples[1], equal_var=False).pvalue,
        stats.ttest_ind(samples[1], samples[2], equal_var=False).pvalue,
    ]
    assert adjacent_pvalues(samples) == pytest.approx(expected)


def test_single_seed_entry_borrows_pooled_noise() -> None:
    samples = [[0.90, 0.92, 0.91], [0.85], [0.84, 0.86]]
    sd, df = math.sqrt((2e-4 + 2e-4) / 3), 3  # SS 2e-4 (df 2) and 2e-4 (df 1)
    t01 = (0.91 - 0.85) / (sd * math.sqrt(1 / 3 + 1))
    t12 = (0.85 - 0.85) / (sd * math.sqrt(1 + 1 / 2))
    expected = [2 * stats.t.sf(t01, df), 2 * stats.t.sf(t12, df)]
    assert adjacent_pvalues(samples) == pytest.approx(expected)


def test_identical_seeds_fall_back_to_pooled_noise() -> None:
    # Entries 0 and 1 have zero spread each; the benchmark's other entries say how noisy seeds are.
    samples = [[0.9, 0.9, 0.9], [0.8, 0.8, 0.8], [0.7, 0.72, 0.74]]
    sd, df = math.sqrt(8e-4 / 6), 6
    expected01 = 2 * stats.t.sf(0.1 / (sd * math.sqrt(2 / 3)), df)
    assert adjacent_pvalues(samples)[0] == pytest.approx(expected01)


def test_holm_by_hand() -> None:
    # sorted: 0.01 ≤ 0.05/3 yes; 0.03 ≤ 0.05/2 no → stop
    assert holm_reject([0.01, 0.04, 0.03], 0.05) == [True, False, False]
    assert holm_reject([0.04, 0.01, 0.02], 0.05) == [True, True, True]
    assert holm_reject([], 0.05) == []


def test_rank_groups_competition_style() -> None:
    samples = [
        [0.950, 0.951, 0.949],
        [0.949, 0.952, 0.948],  # same as above → shares rank 1
        [0.900, 0.901, 0.899],  # far below → rank 3
        [0.899, 0.902, 0.898],  # shares rank 3
        [0.800, 0.801, 0.799],  # rank 5
    ]
    assert rank_groups(samples) == [1, 1, 3, 3, 5]


def test_rank_groups_edge_cases() -> None:
    assert rank_groups([]) == []
    assert rank_groups([[0.5]]) == [1]
    assert rank_groups([[0.9], [0.5], [0.1]]) == [1, 1, 1]  # no entry measures seed noise: nothing separates
    with pytest.raises(ValueError, match="sorted"):
        rank_groups([[0.5, 0.6], [0.9, 0.8]])
    with pytest.raises(ValueError):
        rank_groups([[0.5], []])


def _sorted_board(rng: np.random.Generator, means: list[float], n_seeds: list[int], std: float) -> list[list[float]]:
    entries = [rng.normal(m, std, n).tolist() for m, n in zip(means, n_seeds, strict=True)]
    return sorted(entries, key=lambda e: -float(np.mean(e)))


@pytest.mark.simulation
@pytest.mark.parametrize(
    ("label", "n_seeds"),
    [("5 entries x 3 seeds", [3, 3, 3, 3, 3]), ("6 entries, seeds 1-5 mixed", [3, 1, 5, 2, 1, 3])],
)
def test_false_separation_rate_same_distribution(label: str, n_seeds: list[int], report: Callable[[str], None]) -> None:
    """Entries whose seeds come from one distribution: any rank break is a false separation (goal ≤ 5%)."""
    rng = np.random.default_rng(123)
    trials = 600
    broken = sum(
        rank_groups(_sorted_board(rng, [0.9] * len(n_seeds), n_seeds, 0.01)) != [1] * len(n_seeds)
        for _ in range(trials)
    )
    rate = broken / trials
    report(f"rank_groups false separation, {label}, same distribution, {trials} boards: {rate:.3f}")
    assert rate <= 0.05


@pytest.mark.simulation
def test_power_entries_five_std_apart(report: Callable[[str], None]) -> None:
    """Two entries 5 seed-std apart with 3 seeds each are separated most of the time."""
    rng = np.random.default_rng(7)
    trials = 600
    separated = sum(rank_groups(_sorted_board(rng, [0.95, 0.90], [3, 3], 0.01)) == [1, 2] for _ in range(trials))
    rate = separated / trials
    report(f"rank_groups power, 2 entries 5 std apart, 3 seeds each, {trials} trials: {rate:.3f}")
    assert rate >= 0.75


@pytest.mark.simulation
def test_false_separation_rate_single_pair_is_nominal(report: Callable[[str], None]) -> None:
    """For two entries no correction applies, so the rate should sit at α = 5% (not far below, not above)."""
    rng = np.random.default_rng(99)
    trials = 1000
    broken = sum(rank_groups(_sorted_board(rng, [0.9, 0.9], [3, 3], 0.01)) != [1, 1] for _ in range(trials))
    rate = broken / trials
    label = f"2 entries x 3 seeds, same distribution, {trials} trials"
    report(f"rank_groups false separation, {label}: {rate:.3f}")
    assert 0.02 <= rate <= 0.05 + 2.5 * math.sqrt(0.05 * 0.95 / trials)


def test_pooled_noise_gives_power_on_a_full_board(report: Callable[[str], None]) -> None:
    """With the benchmark's pooled noise (5 entries × 3 seeds = 10 df), neighbours 4σ apart are separated far
    more often than per-pair Welch tests with 2–4 df could (the digits demo's case)."""
    rng = np.random.default_rng(7)
    separated = 0
    trials = 300
    for _ in range(trials):
        board = [rng.normal(1.0 - 0.04 * i, 0.01, size=3).tolist() for i in range(5)]
        board.sort(key=lambda s: -float(np.mean(s)))
        ranks = rank_groups(board)
        separated += sum(1 for a, b in itertools.pairwise(ranks) if b != a)
    rate = separated / (4 * trials)
    report(f"rank_groups power, 5 entries 4 std apart, 3 seeds each, pooled noise, 300 boards: {rate:.3f}")
    assert rate > 0.8
