"""One live board, before and after the statistics round, side by side: the old rules (a plain Student-t
interval per entry from its own seeds, ranks from Holm-corrected neighbour tests: tests/stats/legacy_*.py)
recomputed from the per-seed accuracies the board's API publishes, next to what the board shows now
(simultaneous intervals with seed noise from the frozen reference plus test-set sampling, rank ranges).

    archarena demo &                                     # let the digits runs finish
    .venv/bin/python bench/board_before_after.py --url http://127.0.0.1:8000 --benchmark digits

It also prints what the old rules claim that the new ones refuse: pairs ranked apart by a neighbour chain whose
intervals overlap, and entries whose own-seed interval had zero width.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.stats.legacy_ranking import rank_groups
from tests.stats.legacy_summary import t_ci


def _board(url: str, benchmark: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/api/v1/benchmarks/{benchmark}/leaderboard", timeout=60) as res:
        board: dict[str, Any] = json.load(res)
    return board


def _pct(x: float) -> str:
    return f"{100 * x:5.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--benchmark", default="digits")
    parser.add_argument("--top", type=int, default=20, help="rows to print (best first)")
    args = parser.parse_args()
    board = _board(args.url, args.benchmark)
    complete = [e for e in board["entries"] if e["rank_status"] == "ranked" and len(e["test_accs"]) >= 2]
    complete.sort(key=lambda e: -e["test_acc_mean"])
    old_ranks = rank_groups([e["test_accs"] for e in complete])
    print(f"{args.benchmark}: {len(complete)} complete entries; now: {board['covers']} ({board['level']})")
    print(f"{'entry':38} {'mean':>5} | {'old 95% t CI':>13} {'old rank':>8} | {'new interval':>13} {'new rank':>8}")
    zero_width = 0
    for e, old in list(zip(complete, old_ranks, strict=True))[: args.top]:
        lo, hi = t_ci(e["test_accs"])
        zero_width += hi - lo < 1e-12
        nlo, nhi = e["test_acc_ci"]
        new = f"{e['rank_low']}–{e['rank_high']}" if e["rank_low"] != e["rank_high"] else str(e["rank_low"])
        print(
            f"{e['name'][:38]:38} {_pct(e['test_acc_mean'])} | {_pct(lo)}–{_pct(hi)}  {old:>8} | "
            f"{_pct(nlo)}–{_pct(nhi)}  {new:>8}"
        )
    chained = sum(
        1
        for i, a in enumerate(complete)
        for j, b in enumerate(complete)
        if i < j and old_ranks[i] < old_ranks[j] and a["test_acc_ci"][0] <= b["test_acc_ci"][1]
    )
    print(f"old rules: {len(set(old_ranks))} rank groups; {zero_width} entries with a zero-width interval (all shown)")
    print(f"pairs the old neighbour chain ranked apart whose new intervals overlap: {chained}")


if __name__ == "__main__":
    main()
