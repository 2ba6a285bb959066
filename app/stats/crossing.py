"""Where families cross: accuracy against log-compute fitted per group (a family, or a token mixer), with a
bootstrap confidence band, and where two groups' fits can be told apart. Pure numpy: (cost, per-seed scores)
per entry in, fits and separated segments out; ``app.leaderboard.families`` turns them into words.

The fit. Each group's entries (their mean score) are fitted by least squares to ``a + b · log10(cost)``. The
uncertainty has two sources, both resampled by a two-stage bootstrap: which entries a group happens to have
(entries drawn with replacement) and each entry's seed noise (its seeds drawn with replacement, once per entry
per draw). A draw whose entries all share one cost has no slope; it is fitted flat at its mean (the only
estimate it supports), which widens the band honestly rather than dropping the draw.

The bands. Each group's band is pointwise (the ``confidence`` percentile interval of its fitted line at each
cost), drawn only over the group's own cost range: no extrapolation. Two groups are compared only where both
have entries. Saying "the bands separate here" at every grid point of every pair would test many hypotheses at
once, so the difference bands are simultaneous: one critical value for the maximum, over every pair and every
grid point, of the bootstrap difference's deviation in units of its standard error (a max-t band). A pair is
called separated where its simultaneous band excludes zero; over a board with no real differences the chance
of any such call is about ``1 - confidence`` (``tests/stats/test_stats_crossing.py`` measures it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, combinations, product

import numpy as np

from app.stats._validate import FloatArray, as_finite_array, check_confidence, check_resamples

MIN_ENTRIES = 3
"""Entries a group needs before a line with a band is fitted to it (and two distinct costs)."""

Entries = Sequence[tuple[float, Sequence[float]]]  # (cost > 0, per-seed scores) per entry


@dataclass(frozen=True)
class GroupFit:
    """One group's line: ``score ≈ intercept + slope · log10(cost)``; ``grid`` (log10 cost, within the group's
    own range) with the fitted ``mean`` and the pointwise band ``low``–``high``."""

    group: str
    n_entries: int
    n_seeds: int
    log_range: tuple[float, float]
    slope: float
    intercept: float
    grid: list[float]
    mean: list[float]
    low: list[float]
    high: list[float]


@dataclass(frozen=True)
class Segment:
    """A stretch of log10 cost over which a pair is (``better`` names the better group) or is not (None)
    separated; ``diff_min``/``diff_max``: the estimated difference (better minus other, or a minus b when
    not separated) over the stretch."""

    start: float
    end: float
    better: str | None
    diff_min: float
    diff_max: float


@dataclass(frozen=True)
class PairCrossing:
    a: str
    b: str
    overlap: tuple[float, float] | None  # log10 cost both groups cover; None: their ranges do not overlap
    segments: list[Segment] = field(default_factory=list)

    @property
    def separated(self) -> bool:
        return any(s.better is not None for s in self.segments)


@dataclass(frozen=True)
class Crossing:
    fits: list[GroupFit]
    too_few: dict[str, str]  # group → why it has no fit
    pairs: list[PairCrossing]
    confidence: float
    n_boot: int
    critical: float | None  # the simultaneous max-t critical value (None: no pair to compare)


@dataclass
class _Boot:
    fit: GroupFit
    grid_index: np.ndarray  # indices of the common grid inside the group's range
    curves: FloatArray  # (n_boot, len(grid_index)) bootstrap fitted values


def _line(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Least-squares slope and intercept along the last axis; flat at the mean where x does not vary."""
    xm, ym = x.mean(axis=-1, keepdims=True), y.mean(axis=-1, keepdims=True)
    sxx = ((x - xm) ** 2).sum(axis=-1)
    sxy = ((x - xm) * (y - ym)).sum(axis=-1)
    slope = np.divide(sxy, sxx, out=np.zeros_like(sxy), where=sxx > 1e-12)
    return slope, ym[..., 0] - slope * xm[..., 0]


def _draws(x: FloatArray, seeds: _Seeds, n_boot: int, rng: np.random.Generator) -> FloatArray:
    """(n_boot, 2) slope and intercept of the two-stage bootstrap."""
    n = x.size
    seed_means = _seed_mean_draws(seeds, n_boot, rng)  # (B, n)
    pick = rng.integers(0, n, (n_boot, n))
    slope, intercept = _line(x[pick], np.take_along_axis(seed_means, pick, axis=1))
    return np.stack([slope, intercept], axis=1)


@dataclass(frozen=True)
class _Seeds:
    """A group's per-seed scores, flat, with each entry's count and offset into ``flat``."""

    flat: FloatArray
    count: np.ndarray
    start: np.ndarray

    @classmethod
    def of(cls, name: str, entries: Entries) -> _Seeds:
        count = np.fromiter((len(s) for _, s in entries), dtype=np.int64, count=len(entries))
        if np.any(count < 1):
            raise ValueError(f"{name} seeds: every entry needs at least 1 value")
        flat = as_finite_array(np.fromiter(chain.from_iterable(s for _, s in entries), np.float64), f"{name} seeds")
        return cls(flat, count, np.concatenate(([0], np.cumsum(count)[:-1])))

    def means(self) -> FloatArray:
        return np.add.reduceat(self.flat, self.start) / self.count


MAX_TABLE = 3125  # k**k for k = 5 seeds
_CELLS = 4_000_000  # array cells per chunk of entries: bounded memory whatever the group's size


def _seed_mean_draws(seeds: _Seeds, n_boot: int, rng: np.random.Generator) -> FloatArray:
    """(n_boot, n): each entry's mean over its seeds drawn with replacement, all entries with the same number k
    of seeds drawn together. For k**k ≤ ``MAX_TABLE`` a draw is one uniform index into the entry's k**k equally
    likely resamples, whose means are tabulated once (the same distribution as k separate indices, from a
    k-th of the random numbers); larger k draws the k indices."""
    out = np.empty((n_boot, seeds.count.size))
    for k in np.unique(seeds.count).tolist():
        rows = np.flatnonzero(seeds.count == k)
        values = seeds.flat[seeds.start[rows][:, None] + np.arange(k)]  # (m, k)
        tuples = np.array(list(product(range(k), repeat=k))) if k**k <= MAX_TABLE else None
        width = tuples.shape[0] * k if tuples is not None else n_boot * k
        step = max(1, _CELLS // max(width, n_boot))
        for lo in range(0, rows.size, step):
            chunk = values[lo : lo + step]
            if tuples is not None:
                table = chunk[:, tuples].mean(axis=2)  # (chunk, k**k)
                draws = np.take_along_axis(table, rng.integers(0, tuples.shape[0], (len(chunk), n_boot)), axis=1)
            else:
                picks = rng.integers(0, k, (len(chunk), n_boot, k))
                draws = np.take_along_axis(chunk[:, None, :], picks, axis=2).mean(axis=2)
            out[:, rows[lo : lo + step]] = draws.T
    return out


def _why_not(entries: Entries) -> str | None:
    if len(entries) < MIN_ENTRIES:
        noun = "entry" if len(entries) == 1 else "entries"
        return f"{len(entries)} {noun} with results (at least {MIN_ENTRIES} needed)"
    if len({c for c, _ in entries}) < 2:
        return "every entry has the same cost, so there is no slope to fit"
    return None


def _fit_group(
    name: str, entries: Entries, grid: FloatArray, level: float, n_boot: int, rng: np.random.Generator
) -> _Boot:
    x = np.log10(as_finite_array([c for c, _ in entries], f"{name} costs"))
    seeds = _Seeds.of(name, entries)
    slope, intercept = _line(x, seeds.means())
    draws = _draws(x, seeds, n_boot, rng)
    inside = np.flatnonzero((grid >= x.min() - 1e-12) & (grid <= x.max() + 1e-12))
    curves = draws[:, 1:2] + draws[:, 0:1] * grid[inside][None, :]
    tail = (1 - level) / 2
    fit = GroupFit(
        group=name,
        n_entries=len(entries),
        n_seeds=int(seeds.count.sum()),
        log_range=(float(x.min()), float(x.max())),
        slope=float(slope),
        intercept=float(intercept),
        grid=grid[inside].tolist(),
        mean=(float(intercept) + float(slope) * grid[inside]).tolist(),
        low=np.quantile(curves, tail, axis=0).tolist(),
        high=np.quantile(curves, 1 - tail, axis=0).tolist(),
    )
    return _Boot(fit, inside, curves)


def _pair_deviations(a: _Boot, b: _Boot) -> tuple[np.ndarray, FloatArray, FloatArray, FloatArray] | None:
    """Common grid indices, the estimated difference a − b there, its bootstrap standard error, and each draw's
    largest standardised deviation; None when the two ranges do not overlap on the grid."""
    common = np.intersect1d(a.grid_index, b.grid_index)
    if common.size == 0:
        return None
    ia, ib = np.searchsorted(a.grid_index, common), np.searchsorted(b.grid_index, common)
    est = np.asarray(a.fit.mean)[ia] - np.asarray(b.fit.mean)[ib]
    boot = a.curves[:, ia] - b.curves[:, ib]
    se = np.maximum(boot.std(axis=0, ddof=1), 1e-9)
    return common, est, se, (np.abs(boot - est) / se).max(axis=1)


def _segments(grid: FloatArray, est: FloatArray, half: FloatArray, a: str, b: str) -> list[Segment]:
    """Runs of grid points with the same call: a better, b better, or not separated."""
    calls = [a if e - h > 0 else b if e + h < 0 else None for e, h in zip(est, half, strict=True)]
    out: list[Segment] = []
    start = 0
    for i in range(1, len(calls) + 1):
        if i == len(calls) or calls[i] != calls[start]:
            diffs = est[start:i] if calls[start] != b else -est[start:i]
            lo = grid[start] if start == 0 else (grid[start - 1] + grid[start]) / 2
            hi = grid[i - 1] if i == len(calls) else (grid[i - 1] + grid[i]) / 2
            out.append(Segment(float(lo), float(hi), calls[start], float(diffs.min()), float(diffs.max())))
            start = i
    return out


def fit_groups(
    groups: Mapping[str, Entries],
    *,
    confidence: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
    grid_points: int = 40,
) -> Crossing:
    """Fit every group with enough entries, and say for every pair where (on log10 cost) their simultaneous
    difference band excludes zero. Costs must be positive; every entry needs at least one score."""
    check_confidence(confidence)
    check_resamples(n_boot)
    rng = np.random.default_rng(seed)
    too_few = {name: why for name, entries in groups.items() if (why := _why_not(entries)) is not None}
    fitted = {name: entries for name, entries in groups.items() if name not in too_few}
    logs = [np.log10(c) for entries in fitted.values() for c, _ in entries]
    grid = np.linspace(min(logs), max(logs), grid_points) if logs else np.zeros(0)
    boots = {name: _fit_group(name, entries, grid, confidence, n_boot, rng) for name, entries in fitted.items()}
    deviations = {(a, b): _pair_deviations(boots[a], boots[b]) for a, b in combinations(boots, 2)}
    found = [d for d in deviations.values() if d is not None]
    critical = float(np.quantile(np.max([d[3] for d in found], axis=0), confidence)) if found else None
    pairs = []
    for (a, b), dev in deviations.items():
        if dev is None or critical is None:
            pairs.append(PairCrossing(a, b, None))
            continue
        common, est, se, _ = dev
        overlap = (float(grid[common[0]]), float(grid[common[-1]]))
        pairs.append(PairCrossing(a, b, overlap, _segments(grid[common], est, critical * se, a, b)))
    fits = [boots[name].fit for name in boots]
    return Crossing(fits, too_few, pairs, confidence, n_boot, critical)
