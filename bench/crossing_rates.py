"""How honest the "where families cross" statements are (``app.stats.crossing``), by seeded simulation: boards
whose groups all lie on one true line of accuracy against log-compute (each entry scattered about it, seed noise
on top), for several group sizes. Prints the pointwise band's coverage of the true line at mid-range and the
share of boards on which some pair is (wrongly) said to separate somewhere; then the power to find a real
gap of a given size.

    .venv/bin/python bench/crossing_rates.py [--boards 400]
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from app.stats.crossing import fit_groups


def _board(
    rng: np.random.Generator, groups: int, entries: int, gap: float
) -> dict[str, list[tuple[float, list[float]]]]:
    costs = [10 ** (5 + 2 * i / max(1, entries - 1)) for i in range(entries)]
    out = {}
    for g in range(groups):
        shift = gap if g == 0 else 0.0
        out[f"g{g}"] = [
            (c, (0.6 + 0.04 * (math.log10(c) - 5) + shift + rng.normal(0, 0.01) + rng.normal(0, 0.008, 3)).tolist())
            for c in costs
        ]
    return out


def rates(groups: int, entries: int, boards: int, gap: float = 0.0) -> tuple[float, float]:
    rng = np.random.default_rng(1000 * groups + entries)
    covered = separated = 0
    for b in range(boards):
        result = fit_groups(_board(rng, groups, entries, gap), n_boot=500, seed=b)
        fit = next(f for f in result.fits if f.group == "g1")
        mid = len(fit.grid) // 2
        covered += fit.low[mid] <= 0.6 + 0.04 * (fit.grid[mid] - 5) <= fit.high[mid]
        separated += any(p.separated for p in result.pairs)
    return covered / boards, separated / boards


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--boards", type=int, default=400)
    args = parser.parse_args()
    print("groups entries  band coverage  any false separation")
    for groups, entries in ((2, 3), (2, 4), (2, 8), (4, 4), (6, 6)):
        coverage, false_rate = rates(groups, entries, args.boards)
        print(f"{groups:>6} {entries:>7}  {coverage:13.3f}  {false_rate:20.3f}")
    print("\npower: one group of 6 entries shifted up by gap, against one other")
    for gap in (0.01, 0.02, 0.04):
        print(f"  gap {100 * gap:.0f} points: separated somewhere on {rates(2, 6, args.boards, gap)[1]:.3f} of boards")


if __name__ == "__main__":
    main()
