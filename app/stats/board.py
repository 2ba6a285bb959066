"""Ranks that cannot chain: simultaneous intervals over the board, and a rank range for every complete entry.

The method, and why
-------------------
Testing only neighbours lets A ≈ B and B ≈ C put A and C in one group however far apart they are (a 96 %
ResNet shared rank 1 with a 44 % PoolFormer). Here every statement about two entries comes from one set of
intervals that hold **simultaneously** for the whole board, the construction of Klein, Wright & Wieczorek
(2020, "A joint confidence region for an overall ranking of populations", JRSS C):

* each complete entry gets its all-error-sources interval (``intervals.entry_interval``: moderated seed noise
  plus test-set sampling, logit scale) at the Šidák level (1 − α)^(1/K̄), so that with probability ≥ 1 − α
  *every* interval on the board covers its entry's true accuracy (Šidák's inequality holds for these
  positively dependent two-sided intervals: the shared reference and the shared test set only couple them
  positively);
* A is **clearly better** than B when A's interval lies entirely above B's. On the event that all intervals
  cover (probability ≥ 1 − α) every "clearly better" statement is true, so on a board whose entries all share
  one distribution some pair is separated on at most α of boards, whatever the number of entries;
* displayed rank = 1 + the number of entries clearly better; rank range = [1 + #clearly better,
  K − #clearly worse], a joint 1 − α confidence set for all true ranks (Klein et al.). If A's interval lies
  above B's, everything clearly better than A is clearly better than B, and A is too, so B's displayed rank
  is strictly larger: disjoint intervals are never shown as tied.

K̄ is the number K of complete entries rounded up to a power of two (2, 4, 8, 16, 32, …), so one extra entry rarely
changes any width: an entry only affects another's interval by crossing a bracket (a doubling of the board).
Nothing else about an entry reaches another's interval — its seeds moderate only its own variance against
the frozen reference — so a noisy outsider, whose interval is wide, is clearly better or worse than no one
and changes no other entry's displayed rank or interval.

Only complete entries (every requested seed done) are ranked and counted in K; the others are shown as
"provisional, k of n seeds" with their interval at the same level.

Power: overlap of two intervals is a stricter criterion than a test of the difference (≈ √2 wider for equal
widths), and the simultaneous level grows slowly with K̄; that is the price of statements that hold for all
pairs at once. Measured in ``tests/stats/test_stats_board.py`` and ``bench/stats_guarantees.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from app.stats._validate import FloatArray
from app.stats.intervals import entry_intervals
from app.stats.noise import NoiseReference

MIN_BRACKET = 2
"""The smallest board size the simultaneous level is computed for."""


@dataclass(frozen=True)
class BoardRanks:
    """Per-entry lists, in the input order. ``rank``/``rank_low``/``rank_high`` are None for entries that are
    not complete; ``mean``/``low``/``high`` are None for entries without any score yet. ``level`` is the
    confidence of each displayed interval, ``bracket`` the K̄ it was computed for, ``n_complete`` = K."""

    mean: list[float | None]
    low: list[float | None]
    high: list[float | None]
    rank: list[int | None]
    rank_low: list[int | None]
    rank_high: list[int | None]
    complete: list[bool]
    status: list[str]
    n_complete: int
    bracket: int
    level: float
    alpha: float
    covers: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return asdict(self)


def bracket(k: int) -> int:
    """K rounded up to the next power of two, at least ``MIN_BRACKET``."""
    if k < 0:
        raise ValueError(f"the number of complete entries must be >= 0, got {k}")
    return max(MIN_BRACKET, 1 << max(k - 1, 0).bit_length())


def simultaneous_level(k: int, alpha: float = 0.05) -> float:
    """Per-interval confidence (1 − α)^(1/K̄) so that K̄ intervals hold together with probability ≥ 1 − α."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    return float((1.0 - alpha) ** (1.0 / bracket(k)))


def seed_status(n_done: int, n_requested: int) -> str:
    """ "ranked" when every requested seed is done, else "provisional, k of n seeds" (or waiting for the first)."""
    if n_requested < 1:
        raise ValueError(f"seeds requested must be >= 1, got {n_requested}")
    if n_done >= n_requested:
        return "ranked"
    if n_done == 0:
        return f"waiting for its first seed (0 of {n_requested})"
    return f"provisional, {n_done} of {n_requested} seeds"


def rank_board(
    accs: Sequence[Sequence[float]],
    seeds_requested: Sequence[int],
    n_test: int,
    ref: NoiseReference,
    alpha: float = 0.05,
) -> BoardRanks:
    """Simultaneous intervals, displayed ranks and rank ranges for one board (see the module docstring).

    ``accs[i]`` are entry i's finished per-seed accuracies, ``seeds_requested[i]`` how many seeds it asked
    for; every entry on a board is scored on the same ``n_test`` test images and moderated toward ``ref``.
    """
    if len(accs) != len(seeds_requested):
        raise ValueError(f"accs and seeds_requested differ in length: {len(accs)} vs {len(seeds_requested)}")
    requested = np.asarray(seeds_requested, dtype=np.int64)
    if requested.size and requested.min() < 1:
        raise ValueError("every entry must request at least 1 seed")
    n_done = np.fromiter((len(a) for a in accs), dtype=np.int64, count=len(accs))
    complete = (n_done >= requested) & (n_done > 0)
    k = int(complete.sum())
    level = simultaneous_level(k, alpha)
    iv = entry_intervals(accs, n_test, ref, level)
    rank, rank_high = _ranks(iv.low, iv.high, complete)
    return BoardRanks(
        mean=_floats(iv.mean),
        low=_floats(iv.low),
        high=_floats(iv.high),
        rank=_ints(rank, complete),
        rank_low=_ints(rank, complete),
        rank_high=_ints(rank_high, complete),
        complete=complete.tolist(),
        status=[seed_status(int(d), int(r)) for d, r in zip(n_done, requested, strict=True)],
        n_complete=k,
        bracket=bracket(k),
        level=level,
        alpha=alpha,
        covers=board_covers_sentence(k, level, alpha, n_test, ref),
    )


def _ranks(low: FloatArray, high: FloatArray, complete: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """1 + #complete entries clearly better, and K − #complete entries clearly worse (O(N log N))."""
    lows = np.sort(low[complete])
    highs = np.sort(high[complete])
    k = lows.size
    clearly_better = k - np.searchsorted(lows, high, side="right")
    clearly_worse = np.searchsorted(highs, low, side="left")
    return 1 + clearly_better, k - clearly_worse


def _floats(values: FloatArray) -> list[float | None]:
    return [None if np.isnan(v) else v for v in values.tolist()]


def _ints(values: np.ndarray, keep: np.ndarray) -> list[int | None]:
    return [int(v) if ok else None for v, ok in zip(values.tolist(), keep.tolist(), strict=True)]


def board_covers_sentence(k: int, level: float, alpha: float, n_test: int, ref: NoiseReference) -> str:
    """What the board's intervals and ranks mean, for the page."""
    return (
        f"Each interval is a {100.0 * level:.2f}% interval (Šidák for a board of up to {bracket(k)} ranked "
        f"entries; {k} are complete), so all of them hold together with {100.0 * (1.0 - alpha):.0f}% "
        f"confidence. They include seed-to-seed training noise (moderated toward the benchmark's reference of "
        f"±{100.0 * ref.sigma:.2f} points per seed) and test-set sampling ({n_test:,} test images). An entry "
        "ranks above another only when its interval lies entirely above the other's; the rank range is a "
        "joint confidence range for every entry's true rank. Entries still missing seeds are not ranked."
    )
