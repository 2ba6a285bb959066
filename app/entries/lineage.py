"""Lineages: the tries of one idea. Two entries are near-variants when their specs share a lineage key (the spec
without its size fields) and every size (widths, depths, …) is within ±15 % of the other's
(``app.zoo.identity``); a lineage is a chain of near-variants on one benchmark and recipe version, across users
and accounts, deleted and hidden tries included — deleting a try hides it, it never erases it from the count.

Every try counts because the best of k near-variants gains from seed luck alone: the board ranks a lineage's
best try on the seeds of all its tries unless its lead is larger than luck (``app.stats.luck``)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from app.zoo.identity import sizes_near

TOLERANCE = 0.15


@dataclass(frozen=True)
class Try:
    id: int
    key: str | None
    sizes: dict[str, float]


class _Roots:
    """Union-find over try ids; a lineage's root is its smallest id, its oldest try."""

    def __init__(self, ids: Sequence[int]) -> None:
        self._parent = {i: i for i in ids}

    def find(self, i: int) -> int:
        while self._parent[i] != i:
            self._parent[i] = self._parent[self._parent[i]]
            i = self._parent[i]
        return i

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        self._parent[max(ra, rb)] = min(ra, rb)


def lineages(tries: Sequence[Try], tolerance: float = TOLERANCE) -> dict[int, int]:
    """Each try's lineage, named by the id of its oldest try. Single linkage within a lineage key: a sweep over
    the log of the sizes' product finds the candidates (near-variants differ by at most k·log(1 + tol) there), so
    a board of 10,000 entries with one key costs about n log n, not n²."""
    roots = _Roots([t.id for t in tries])
    by_key: dict[str, list[Try]] = defaultdict(list)
    for t in tries:
        if t.key is not None:
            by_key[t.key].append(t)
    for group in by_key.values():
        _link(group, tolerance, roots)
    return {t.id: roots.find(t.id) for t in tries}


def _size_scale(sizes: dict[str, float]) -> float:
    return sum(math.log(max(v, 1e-9)) for v in sizes.values())


def _link(group: list[Try], tolerance: float, roots: _Roots) -> None:
    scales = sorted(((_size_scale(t.sizes), t) for t in group), key=lambda pair: pair[0])
    window = max(1, len(scales[0][1].sizes)) * math.log(1.0 + tolerance) + 1e-9
    for i, (scale, a) in enumerate(scales):
        for other, b in scales[i + 1 :]:
            if other - scale > window:
                break
            if sizes_near(a.sizes, b.sizes, tolerance):
                roots.join(a.id, b.id)
