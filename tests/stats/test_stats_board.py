"""board: simultaneous intervals and rank ranges — brackets by hand, the five guarantees by simulation."""

import time
from collections.abc import Callable

import numpy as np
import pytest

from app.stats.board import bracket, rank_board, seed_status, simultaneous_level
from app.stats.intervals import entry_intervals
from app.stats.noise import NoiseReference
from tests.stats.scenarios import FASHION, MID, World, false_separation, outsider_changes, separation_power

REF = NoiseReference(sigma=0.005, df=14.7, n_entries=8, method="test", prior_df=12.0)
SEED_NOISE_ONLY = World(mu=0.9, sigma=0.005, n_test=10_000_000)


def test_brackets_and_levels() -> None:
    assert [bracket(k) for k in (0, 1, 2, 3, 4, 5, 8, 9, 16, 17, 10_000)] == [2, 2, 2, 4, 4, 8, 8, 16, 16, 32, 16384]
    assert simultaneous_level(5) == pytest.approx(0.95 ** (1 / 8))
    assert simultaneous_level(8) == simultaneous_level(6)
    with pytest.raises(ValueError):
        simultaneous_level(3, alpha=0.0)


def test_seed_status_words() -> None:
    assert seed_status(3, 3) == "ranked"
    assert seed_status(1, 3) == "provisional, 1 of 3 seeds"
    assert seed_status(0, 5) == "waiting for its first seed (0 of 5)"
    with pytest.raises(ValueError):
        seed_status(1, 0)


def test_small_board_by_hand() -> None:
    accs = [
        [0.950, 0.951, 0.949],  # A: far above the rest
        [0.900, 0.901, 0.899],  # B
        [0.899, 0.902, 0.898],  # C ≈ B
        [0.800, 0.801, 0.799],  # D: far below
        [0.990],  # E: 1 of 3 seeds, not ranked, not counted in K
    ]
    board = rank_board(accs, [3, 3, 3, 3, 3], 1_000_000, REF)
    assert board.n_complete == 4 and board.bracket == 4
    assert board.level == pytest.approx(0.95**0.25)
    assert board.rank == [1, 2, 2, 4, None]
    assert board.rank_low == [1, 2, 2, 4, None]
    assert board.rank_high == [1, 3, 3, 4, None]
    assert board.complete == [True, True, True, True, False]
    assert board.status[4] == "provisional, 1 of 3 seeds"
    assert board.mean[4] == pytest.approx(0.99)
    iv = entry_intervals(accs, 1_000_000, REF, board.level)
    assert board.low == pytest.approx(iv.low.tolist()) and board.high == pytest.approx(iv.high.tolist())
    assert "hold together with 95% confidence" in board.covers


def test_entries_without_seeds_have_no_numbers() -> None:
    board = rank_board([[0.9, 0.91], []], [2, 3], 1000, REF)
    assert board.mean[1] is None and board.low[1] is None and board.rank[1] is None
    assert board.status[1] == "waiting for its first seed (0 of 3)"
    with pytest.raises(ValueError, match="differ in length"):
        rank_board([[0.9]], [1, 1], 1000, REF)


def _random_board(rng: np.random.Generator, entries: int) -> list[list[float]]:
    means = rng.uniform(0.85, 0.95, entries)
    sds = REF.sigma * rng.choice([0.5, 1.0, 3.0], entries)
    return (means[:, None] + rng.normal(0, 1, (entries, 3)) * sds[:, None]).tolist()


def test_ranks_match_brute_force_and_disjoint_intervals_are_never_tied() -> None:
    """(b) and (d) on 200 random boards: rank = 1 + #clearly better, rank_high = K − #clearly worse (O(N²)
    by hand), and every pair with disjoint intervals has strictly ordered displayed ranks."""
    rng = np.random.default_rng(4)
    disjoint_pairs = 0
    for _ in range(200):
        accs = _random_board(rng, 12)
        b = rank_board(accs, [3] * 12, 5000, REF)
        low, high = np.array(b.low), np.array(b.high)
        better = (low[None, :] > high[:, None]).sum(axis=1)
        worse = (high[None, :] < low[:, None]).sum(axis=1)
        assert b.rank == (1 + better).tolist()
        assert b.rank_high == (12 - worse).tolist()
        for i in range(12):
            for j in range(12):
                if low[i] > high[j]:
                    disjoint_pairs += 1
                    assert (b.rank[i] or 0) < (b.rank[j] or 0)
    assert disjoint_pairs > 1000  # the property was exercised


@pytest.mark.simulation
@pytest.mark.parametrize("entries", [5, 10, 20])
def test_false_separation_on_boards_of_one_distribution(entries: int, report: Callable[[str], None]) -> None:
    """(a) Entries that all share one distribution: ≤ 5 % of boards may show any separated pair."""
    trials = 300
    rates = false_separation(FASHION, entries, trials, seed=100 + entries)
    report(
        f"board ranks, {entries} entries x 3 seeds, one distribution, {trials} boards: any pair separated "
        f"{rates['new']:.3f} (old rank_groups: some rank break {rates['old']:.3f})"
    )
    assert rates["new"] <= 0.05


@pytest.mark.simulation
def test_noisy_outsider_changes_no_other_rank_or_interval(report: Callable[[str], None]) -> None:
    """(c) Adding an entry whose seeds show a huge spread changes no other entry's displayed rank or interval."""
    changed = outsider_changes(MID, entries=12, trials=100, seed=9)
    report(
        "board ranks, 12 entries + 1 noisy outsider (seed std 30x, observed >= 10x), 100 boards: "
        f"boards changed {changed}"
    )
    assert changed == 0


@pytest.mark.simulation
def test_power_two_entries_five_sigma_apart(report: Callable[[str], None]) -> None:
    seed_only = separation_power(SEED_NOISE_ONLY, 5.0, trials=300, seed=3)
    fashion = separation_power(FASHION, 5.0, trials=300, seed=4)
    report(
        "board ranks, 2 entries 5 seed-std apart, 3 seeds each, 300 boards: separated "
        f"{seed_only:.3f} (test set of 10M images: seed noise only), {fashion:.3f} (10,000 test images: "
        "test-set sampling also in the interval)"
    )
    assert seed_only >= 0.8


def test_ten_thousand_entry_board_is_fast(report: Callable[[str], None]) -> None:
    rng = np.random.default_rng(1)
    accs = (0.9 + rng.normal(0, 0.005, (10_000, 3))).tolist()
    start = time.process_time()
    board = rank_board(accs, [3] * 10_000, 10_000, REF)
    seconds = time.process_time() - start
    report(f"board ranks, 10,000 entries x 3 seeds: {seconds:.3f} s of CPU")
    assert board.n_complete == 10_000
    assert seconds < 1.0
