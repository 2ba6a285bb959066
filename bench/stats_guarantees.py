"""The statistics' guarantees at full size: every rate the tests measure, with thousands of trials, in one
table, plus the CPU time of a 10,000-entry board's statistics (new vs old, measured in this run).

    .venv/bin/python bench/stats_guarantees.py            # full size (several minutes on 2 shared cores)
    .venv/bin/python bench/stats_guarantees.py --scale 0.1  # a quick look

The simulations are those of tests/stats/scenarios.py (seeded; same world: seed noise + one finite test set
shared by the board, discrete accuracies, the noise reference re-measured from 8 × 3 platform seeds each
trial). Timings on a shared machine are disturbed by other processes: compare the ratios within one run.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.stats.aggregate import iqm_estimate
from app.stats.board import rank_board
from app.stats.luck import expected_max_std_normal, lineage_luck_from_seeds
from app.stats.noise import NoiseReference
from app.stats.overfitting import expected_max_of_k
from tests.stats import scenarios as sc
from tests.stats.legacy_ranking import pooled_std, rank_groups

Row = tuple[str, str, str, str]


def _n(base: int, scale: float) -> int:
    return max(20, int(base * scale))


def noise_rows(scale: float) -> list[Row]:
    trials = _n(2000, scale)
    r = sc.reference_robustness(trials, seed=5)
    return [
        (
            "noise reference",
            f"1 of 8x3 reference seeds diverges to 10 %, {trials} refs",
            f"std x{r['robust']:.2f} (max x{r['robust_max']:.2f}); cap alone x{r['cap_only']:.2f}; "
            f"plain pooled x{r['plain']:.1f}",
            "moves little",
        )
    ]


def interval_rows(scale: float) -> list[Row]:
    rows = []
    trials = _n(1000, scale)
    for name, world in (("fashion-like", sc.FASHION), ("digits-like", sc.DIGITS)):
        for factor in (1.0, 2.0, 3.0):
            r = sc.interval_coverage(world, trials, seed=int(21 + 10 * factor), noise_factor=factor)
            target = ">= 0.95" if factor == 1.0 else "(noisier than reference)"
            rows.append(
                (
                    "entry interval 95 %",
                    f"{name}, n_test {world.n_test}, seed std x{factor:.0f}, {trials}x20 entries",
                    f"coverage {r['coverage']:.3f}, width {100 * r['width']:.2f} pts",
                    target,
                )
            )
    return rows


def rank_rows(scale: float) -> list[Row]:
    rows = []
    for entries in (5, 10, 20, 50):
        trials = _n(2000 if entries < 50 else 600, scale)
        r = sc.false_separation(sc.FASHION, entries, trials, seed=100 + entries)
        rows.append(
            (
                "ranks: false separation",
                f"{entries} entries x 3 seeds, one distribution, {trials} boards",
                f"{r['new']:.4f} (old rank_groups {r['old']:.4f})",
                "<= 0.05",
            )
        )
    trials = _n(2000, scale)
    for name, world in (("seed noise only", sc.World(n_test=10_000_000)), ("n_test 10,000", sc.FASHION)):
        power = sc.separation_power(world, 5.0, trials, seed=3)
        rows.append(("ranks: power", f"2 entries 5 seed-std apart, {name}, {trials}", f"{power:.3f}", "report"))
    changed = sc.outsider_changes(sc.MID, 12, _n(3000, scale), seed=9)
    setting = f"12 entries + 1 at 30x std (observed >= 10x), {_n(3000, scale)} boards"
    rows.append(("ranks: noisy outsider", setting, f"{changed} boards changed", "0"))
    return rows


def luck_rows(scale: float) -> list[Row]:
    rows = []
    trials = _n(3000, scale)
    for k in (2, 3, 6, 10, 20):
        rate = sc.luck_false_alarm(sc.FASHION, k, trials, seed=40 + k)
        rows.append(
            ("luck note: false alarm", f"{k} equal tries x 3 seeds, {trials} lineages", f"{rate:.4f}", "<= 0.05")
        )
    trials = _n(1000, scale)
    for name, world in (("seed noise only", sc.World(n_test=10_000_000)), ("n_test 10,000", sc.FASHION)):
        r = sc.best_of_k_attack(world, trials, seed=12)
        rows.append(
            (
                "best-of-6 attack",
                f"mid-table model, {name}, {trials} boards",
                f"old top group {r['old_top_honest']:.3f}->{r['old_top_attack']:.3f}; new rank 1 "
                f"{r['new_top_honest']:.3f}->kept {r['new_top_attack']:.3f}, lineage {r['new_top_lineage']:.3f}; "
                f"range better than truth {r['new_overclaim_attack']:.3f}/{r['new_overclaim_lineage']:.3f}",
                "lineage <= honest",
            )
        )
    return rows


def holdout_rows(scale: float) -> list[Row]:
    trials = _n(3000, scale)
    rows = []
    for n_pub, n_priv, mu in ((447, 450, 0.985), (5000, 5000, 0.9), (2000, 2000, 0.6)):
        rate = sc.gap_false_alarm(n_pub, n_priv, mu, 3, trials, seed=n_pub)
        rows.append(
            ("public-private flag", f"{n_pub}+{n_priv} images at {mu:.3f}, 3 runs, {trials}", f"{rate:.4f}", "<= 0.05")
        )
    return rows


def study_rows(scale: float) -> list[Row]:
    rows = []
    trials = _n(3000, scale)
    for alpha in (0.025, 0.05):
        r = sc.study_false_better(sc.FASHION, 5, trials, seed=77, alpha=alpha)
        rows.append(
            (
                "study: some pair 'better'",
                f"5 identical variants x 3 seeds, look alpha {alpha}, {trials}",
                f"{r['new']:.4f} (per-pair as before {r['old']:.4f})",
                f"<= {alpha}",
            )
        )
    trials = _n(2000, scale)
    for diff, sigma in ((0.0, 0.005), (0.005, 0.005), (0.02, 0.01), (0.015, 0.01), (0.0, 0.01)):
        r = sc.seeds_needed_power(diff, sigma, 0.01, 0.025, trials, seed=int(1e4 * (diff + sigma)))
        rows.append(
            (
                "seeds_needed power",
                f"diff {100 * diff:.1f}, std {100 * sigma:.1f}, delta 1.0 pts, alpha 0.025, {trials}",
                f"n = {r['n']}: computed {r['computed']:.3f}, simulated {r['simulated']:.3f}",
                ">= 0.80",
            )
        )
    return rows


def compare_rows(scale: float) -> list[Row]:
    trials = _n(1000, scale)
    rows = []
    for gap in (0.0, 1.0, 3.0):
        r = sc.superiority_coverage(sc.FASHION, gap, trials, seed=int(10 * gap) + 1)
        rows.append(
            (
                "P(A>B) 95 % interval",
                f"3 vs 3 seeds, gap {gap:.0f} std (P={r['truth']:.3f}), {trials}",
                f"coverage {r['coverage']:.3f}, width {r['width']:.2f}",
                ">= 0.95",
            )
        )
    rng = np.random.default_rng(17)
    trials = _n(1000, scale)
    hits = 0
    for _ in range(trials):
        runs = {f"b{i}": rng.normal(0.6, 0.1, 15).tolist() for i in range(4)}
        est = iqm_estimate(runs, n_boot=500, seed=int(rng.integers(1 << 30)))
        hits += est.low <= 0.6 <= est.high
    rows.append(("IQM 95 % interval", f"4 benchmarks x 15 runs, {trials}", f"coverage {hits / trials:.3f}", "~0.95"))
    return rows


def timing_rows() -> list[Row]:
    """CPU seconds of one 10,000-entry board: new statistics vs old, in this run."""
    rng = np.random.default_rng(1)
    accs = (0.9 + rng.normal(0, 0.005, (10_000, 3))).tolist()
    ref = NoiseReference(sigma=0.005, df=14.7, n_entries=8, method="bench", prior_df=12.0)
    lineages = [accs[i : i + 5] for i in range(0, 10_000, 5)]

    def new() -> None:
        rank_board(accs, [3] * 10_000, 10_000, ref)
        for tries in lineages:
            lineage_luck_from_seeds(tries, ref)

    def old() -> None:
        pooled_std(accs)
        rank_groups(sorted(accs, key=lambda s: -float(np.mean(s))))

    def quad_per_call() -> None:
        for k in rng.integers(2, 7, 8466).tolist():
            expected_max_std_normal.__wrapped__(k)

    def memoised() -> None:
        for k in rng.integers(2, 7, 8466).tolist():
            expected_max_of_k(k, 0.003)

    new()  # warm the memoised tables (null quantiles, E[max]) as a long-running worker would have them
    seconds = {name: _cpu(f) for name, f in (("new", new), ("old", old), ("quad", quad_per_call), ("memo", memoised))}
    return [
        (
            "10,000-entry board, CPU s",
            "ranks + intervals + 2,000 lineage notes",
            f"new {seconds['new']:.3f} s; old rank_groups {seconds['old']:.3f} s",
            "< 1 s",
        ),
        (
            "E[max of k], 8,466 calls",
            "k in 2..6",
            f"per-call quad {seconds['quad']:.3f} s; memoised {seconds['memo']:.4f} s",
            "same numbers",
        ),
    ]


def _cpu(f: Callable[[], None]) -> float:
    start = time.process_time()
    f()
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every trial count by this")
    args = parser.parse_args()
    sections: list[Callable[[float], list[Row]]] = [
        noise_rows,
        interval_rows,
        rank_rows,
        luck_rows,
        holdout_rows,
        study_rows,
        compare_rows,
    ]
    rows: list[Row] = []
    for section in sections:
        start = time.time()
        rows += section(args.scale)
        print(f"# {section.__name__} done in {time.time() - start:.0f} s", file=sys.stderr, flush=True)
    rows += timing_rows()
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    header = ("guarantee", "setting", "measured", "target")
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
