"""Seeded simulations of the statistics' guarantees, shared by the tests (small) and bench/stats_guarantees.py
(large). Each function returns the rates it measured; the callers print and assert them.

The simulated world: an entry's per-seed test accuracy is μ + T + σ·z, rounded to whole test images, where T
is the test set's sampling error (Binomial(n_test, μ)/n_test − μ, one draw per board: every entry is scored on
the same images, the worst case for test-set error) and z is seed noise. The noise reference is re-measured in
every trial from 8 platform entries × 3 seeds, as the platform would.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from app.stats.board import rank_board
from app.stats.compare import superiority
from app.stats.holdout import public_private_gap
from app.stats.intervals import entry_intervals
from app.stats.luck import lineage_luck_from_seeds, lineage_rank_scores
from app.stats.noise import NoiseReference, huber_pooled_variance, reference_from_entries
from app.stats.pairs import grid_verdicts, seeds_needed, verdict_power
from tests.stats.legacy_equivalence import verdict
from tests.stats.legacy_ranking import pooled_std, rank_groups


@dataclass(frozen=True)
class World:
    mu: float = 0.9
    sigma: float = 0.005
    n_test: int = 10_000
    seeds: int = 3


DIGITS = World(mu=0.985, sigma=0.0055, n_test=447)
FASHION = World(mu=0.9, sigma=0.005, n_test=10_000)
MID = World(mu=0.6, sigma=0.005, n_test=10_000)
"""A board far from 0 and 1 (a hard benchmark), where a 30σ outsider cannot be clipped into agreement."""


def discrete(acc: np.ndarray, n_test: int) -> np.ndarray:
    return np.round(np.clip(acc, 0.0, 1.0) * n_test) / n_test


def shared_test_error(rng: np.random.Generator, mu: float, n_test: int) -> float:
    return float(rng.binomial(n_test, mu) / n_test - mu)


def simulate_reference(rng: np.random.Generator, world: World, entries: int = 8) -> NoiseReference:
    shared = shared_test_error(rng, world.mu, world.n_test)
    acc = world.mu + shared + rng.normal(0.0, world.sigma, (entries, world.seeds))
    return reference_from_entries(discrete(acc, world.n_test).tolist())


def simulate_board(
    rng: np.random.Generator, world: World, means: np.ndarray, sigmas: np.ndarray | None = None
) -> list[list[float]]:
    shared = shared_test_error(rng, world.mu, world.n_test)
    sd = np.full(means.size, world.sigma) if sigmas is None else sigmas
    acc = means[:, None] + shared + rng.normal(0.0, 1.0, (means.size, world.seeds)) * sd[:, None]
    return discrete(acc, world.n_test).tolist()


# --- 1. noise reference -------------------------------------------------------------------------------------


def reference_robustness(trials: int, seed: int, diverged_acc: float = 0.1) -> dict[str, float]:
    """Median ratio (after / before) of the reference std when one seed of one of 8 reference entries
    diverges to ``diverged_acc``: the platform's estimator, its Huber cap alone (no divergence screen), and
    the plain pooled std."""
    rng = np.random.default_rng(seed)
    ratios: dict[str, list[float]] = {"robust": [], "cap_only": [], "plain": []}
    for _ in range(trials):
        entries = (0.98 + rng.normal(0.0, 0.005, (8, 3))).tolist()
        before = _three_estimates(entries)
        entries[0][0] = diverged_acc
        after = _three_estimates(entries)
        for key in ratios:
            ratios[key].append(after[key] / before[key])
    out = {key: float(np.median(values)) for key, values in ratios.items()}
    return out | {"robust_max": max(ratios["robust"]), "cap_only_max": max(ratios["cap_only"])}


def _three_estimates(entries: list[list[float]]) -> dict[str, float]:
    var = np.array([np.var(e, ddof=1) for e in entries])
    return {
        "robust": reference_from_entries(entries).sigma,
        "cap_only": float(np.sqrt(huber_pooled_variance(var, np.full(var.size, 2.0))[0])),
        "plain": pooled_std(entries)[0],
    }


# --- 3. entry interval coverage -------------------------------------------------------------------------------


def interval_coverage(world: World, trials: int, seed: int, noise_factor: float = 1.0) -> dict[str, float]:
    """Share of 95 % entry intervals covering μ (20 entries per board); entries' seed std = factor × σ."""
    rng = np.random.default_rng(seed)
    hits, width = 0.0, 0.0
    for _ in range(trials):
        ref = simulate_reference(rng, world)
        board = simulate_board(rng, world, np.full(20, world.mu), np.full(20, noise_factor * world.sigma))
        iv = entry_intervals(board, world.n_test, ref)
        hits += float(np.mean((iv.low <= world.mu) & (world.mu <= iv.high)))
        width += float(np.mean(iv.high - iv.low))
    return {"coverage": hits / trials, "width": width / trials}


# --- 4. ranks ---------------------------------------------------------------------------------------------------


def false_separation(world: World, entries: int, trials: int, seed: int) -> dict[str, float]:
    """Share of boards (all entries one distribution) with any separated pair, new ranks and old rank groups."""
    rng = np.random.default_rng(seed)
    new = old = 0
    for _ in range(trials):
        ref = simulate_reference(rng, world)
        board = simulate_board(rng, world, np.full(entries, world.mu))
        new += max(r or 1 for r in rank_board(board, [world.seeds] * entries, world.n_test, ref).rank) > 1
        old += max(rank_groups(sorted(board, key=lambda s: -float(np.mean(s))))) > 1
    return {"new": new / trials, "old": old / trials}


def separation_power(world: World, gap_sigmas: float, trials: int, seed: int) -> float:
    """Share of two-entry boards, ``gap_sigmas`` seed stds apart, where the better one is ranked above."""
    rng = np.random.default_rng(seed)
    hits = 0
    means = np.array([world.mu, world.mu - gap_sigmas * world.sigma])
    for _ in range(trials):
        ref = simulate_reference(rng, world)
        ranks = rank_board(simulate_board(rng, world, means), [world.seeds] * 2, world.n_test, ref).rank
        hits += ranks == [1, 2]
    return hits / trials


def outsider_changes(world: World, entries: int, trials: int, seed: int) -> int:
    """Boards on which adding a very noisy outside entry changed another entry's displayed rank or interval
    (``entries`` + 1 stays within the same power-of-two bracket). The outsider sits mid-board with a seed
    std of 30σ, and is redrawn until its own seeds *show* a large spread (sample std ≥ 10σ): three seeds
    that happen to agree are not a noisy entry, whatever produced them. The board's level keeps accuracies
    away from 0 and 1, so clipping cannot fake agreement."""
    rng = np.random.default_rng(seed)
    changed = 0
    for _ in range(trials):
        ref = simulate_reference(rng, world)
        board = simulate_board(rng, world, world.mu - world.sigma * np.arange(entries) * 0.8)
        outsider = _noisy_outsider(rng, world, float(np.mean(board)))
        before = rank_board(board, [world.seeds] * entries, world.n_test, ref)
        after = rank_board([*board, outsider], [world.seeds] * (entries + 1), world.n_test, ref)
        same = before.rank == after.rank[:entries] and before.low == after.low[:entries]
        changed += not (same and before.high == after.high[:entries])
    return changed


def _noisy_outsider(rng: np.random.Generator, world: World, centre: float) -> list[float]:
    while True:
        seeds = discrete(centre + rng.normal(0.0, 30 * world.sigma, world.seeds), world.n_test)
        if seeds.std(ddof=1) >= 10 * world.sigma:
            return seeds.tolist()


# --- 5. best of k -----------------------------------------------------------------------------------------------


def luck_false_alarm(world: World, k: int, trials: int, seed: int) -> float:
    """Share of pure-noise lineages of k tries whose best is called "larger than luck"."""
    rng = np.random.default_rng(seed)
    alarms = 0
    for _ in range(trials):
        ref = simulate_reference(rng, world)
        tries = simulate_board(rng, world, np.full(k, world.mu))
        alarms += lineage_luck_from_seeds(tries, ref).larger_than_luck
    return alarms / trials


ATTACK_TOP, ATTACK_BOTTOM = 8, 8
"""The attack board: a top cluster, a bottom cluster, and the attacked model M between them."""


def _attack_board(rng: np.random.Generator, world: World, gap: float, copies: int) -> tuple[list, list]:
    """The fixed entries (top cluster, bottom cluster) and M's ``copies`` tries (M sits midway)."""
    means = np.concatenate([np.full(ATTACK_TOP, world.mu), np.full(ATTACK_BOTTOM, world.mu - gap * world.sigma)])
    board = simulate_board(rng, world, np.concatenate([means, np.full(copies, world.mu - gap / 2 * world.sigma)]))
    return board[: means.size], board[means.size :]


def _m_ranks(board: list, requested: list[int], world: World, ref: NoiseReference) -> tuple[int, int, int]:
    """Old rank group, new displayed rank and new rank_high of the last entry (M)."""
    order = sorted(range(len(board)), key=lambda i: -float(np.mean(board[i])))
    old = rank_groups([board[i] for i in order])[order.index(len(board) - 1)]
    new = rank_board(board, requested, world.n_test, ref)
    return old, new.rank[-1] or 0, new.rank_high[-1] or 0


def best_of_k_attack(world: World, trials: int, seed: int, gap: float = 10.0, k: int = 6) -> dict[str, float]:
    """M honest (one try) vs attacked (best of k copies kept; the others deleted), between two clusters
    ``gap`` seed stds apart. Rates: M in old rank group 1; M at new displayed rank 1; new rank range claims M
    better than its true rank (rank_high < true rank). "lineage" ranks the kept copy on
    ``luck.lineage_rank_scores`` (all the lineage's seeds, deleted tries included, unless its lead is larger
    than luck)."""
    rates: dict[str, float] = {}
    true_rank = ATTACK_TOP + 1
    for label in ("honest", "attack", "lineage"):
        rng = np.random.default_rng(seed)
        counts = np.zeros(3)
        for _ in range(trials):
            ref = simulate_reference(rng, world)
            fixed, tries = _attack_board(rng, world, gap, 1 if label == "honest" else k)
            kept = max(tries, key=lambda s: float(np.mean(s)))
            m = lineage_rank_scores(tries, ref)[0] if label == "lineage" else kept
            requested = [world.seeds] * len(fixed) + [len(m)]
            old, new, high = _m_ranks([*fixed, m], requested, world, ref)
            counts += [old == 1, new == 1, high < true_rank]
        keys = (f"old_top_{label}", f"new_top_{label}", f"new_overclaim_{label}")
        rates |= {key: float(c) for key, c in zip(keys, counts / trials, strict=True)}
    return rates


# --- 6. public vs private ---------------------------------------------------------------------------------------


def gap_false_alarm(n_public: int, n_private: int, mu: float, runs: int, trials: int, seed: int) -> float:
    """Tuning-flag rate on pure noise. Images have their own difficulty q ~ Beta (mean μ, two thirds of the
    per-image variance shared by all runs), the two halves are fixed samples of images, and each run gets
    each image right with probability q: runs share their test images, as on the platform."""
    rng = np.random.default_rng(seed)
    concentration = 0.5
    alarms = 0
    for _ in range(trials):
        q_pub = rng.beta(mu * concentration, (1 - mu) * concentration, n_public)
        q_priv = rng.beta(mu * concentration, (1 - mu) * concentration, n_private)
        pub = (rng.random((runs, n_public)) < q_pub).mean(axis=1)
        priv = (rng.random((runs, n_private)) < q_priv).mean(axis=1)
        alarms += public_private_gap(pub.tolist(), priv.tolist(), n_public, n_private).flag
    return alarms / trials


# --- 7. studies -------------------------------------------------------------------------------------------------


def study_false_better(world: World, variants: int, trials: int, seed: int, alpha: float = 0.05) -> dict:
    """Share of grids of identical variants where some pair is called better: Holm grid vs per-pair verdicts."""
    rng = np.random.default_rng(seed)
    delta = max(0.01, 2 * world.sigma)
    new = old = 0
    for _ in range(trials):
        ref = simulate_reference(rng, world)
        scores = simulate_board(rng, world, np.full(variants, world.mu))
        grid = grid_verdicts(scores, delta, alpha, ref, with_seeds_needed=False)
        new += any(p.kind in ("a_better", "b_better") for p in grid.pairs)
        old += any(
            verdict(scores[i], scores[j], delta, alpha)["kind"] in ("a_better", "b_better")
            for i in range(variants)
            for j in range(i + 1, variants)
        )
    return {"new": new / trials, "old": old / trials}


def seeds_needed_power(
    diff: float, sigma: float, delta: float, alpha: float, trials: int, seed: int
) -> dict[str, float]:
    """The recommended seeds per variant, its computed power, and the power the verdict shows in simulation."""
    ref = NoiseReference(sigma=sigma, df=14.7, n_entries=8, method="simulation", prior_df=14.7)
    n = seeds_needed(diff, sigma, delta, alpha, ref)
    rng = np.random.default_rng(seed)
    right = 0
    for _ in range(trials):
        scores = rng.normal(0.9, sigma, (2, n)) + np.array([[diff], [0.0]])
        kind = grid_verdicts(scores.tolist(), delta, alpha, ref, with_seeds_needed=False).pairs[0].kind
        right += (kind == "equivalent" and abs(diff) < delta) or (kind == "a_better" and diff > 0)
    computed = verdict_power(n, diff, sigma, delta, alpha, ref)
    return {"n": n, "computed": computed, "simulated": right / trials}


# --- 8. compare -------------------------------------------------------------------------------------------------


def superiority_coverage(world: World, gap_sigmas: float, trials: int, seed: int) -> dict[str, float]:
    """Coverage of the 95 % interval of P(A > B) for 3 vs 3 seeds, and its mean width."""
    rng = np.random.default_rng(seed)
    truth = float(special.ndtr(gap_sigmas / np.sqrt(2.0)))
    hits, width = 0, 0.0
    for _ in range(trials):
        ref = simulate_reference(rng, world)
        a = world.mu + gap_sigmas * world.sigma + rng.normal(0.0, world.sigma, world.seeds)
        b = world.mu + rng.normal(0.0, world.sigma, world.seeds)
        s = superiority(a.tolist(), b.tolist(), ref, draws=2000, seed=int(rng.integers(1 << 30)))
        hits += s.low <= truth <= s.high
        width += s.high - s.low
    return {"truth": truth, "coverage": hits / trials, "width": width / trials}
