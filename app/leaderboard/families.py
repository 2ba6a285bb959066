"""Where families cross on a board: accuracy against log-compute fitted per family (or per token mixer, the
CNN families standing as themselves) with bootstrap bands (``app.stats.crossing``), and in words where two
groups can be told apart ("Above ~3 M MACs, attention beats spatial_mlp on Textured shapes (by 4–9 points);
below ~3 M MACs, no difference can be told"). Uses the board's entries as they are: their own seeds, their
costs. No SQL; the page and the API share it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Literal

from app.entries.entry import Entry
from app.leaderboard.plots import cost
from app.leaderboard.schemas import FamiliesOut, FitOut, PairOut, SegmentOut
from app.stats.crossing import Crossing, PairCrossing, Segment, fit_groups

By = Literal["mixer", "family"]
CostAxis = Literal["macs", "params", "deploy"]
UNITS = {"macs": "MACs", "params": "parameters", "deploy": "MACs at deploy"}
N_BOOT = 1000
METHOD = (
    "Each group's entries (mean test accuracy over their seeds) are fitted by least squares to a line in "
    "log10(cost); the band is the 95% percentile interval of {n} bootstrap fits, resampling the group's entries "
    "and each entry's seeds, drawn only over the group's own cost range. Two groups are compared only where both "
    "have entries, with a simultaneous band over every pair and cost (max-t), so that on a board with no real "
    "differences some pair is called different in about 5% of boards. Groups with fewer than 3 entries, or one "
    "cost only, are not fitted."
)


def group_of(entry: Entry, by: str) -> str:
    """A metaformer's token mixer (``by="mixer"``), or the family."""
    if by == "mixer" and entry.family == "metaformer" and entry.mixer:
        return entry.mixer
    return entry.family


def crossing_of(entries: Sequence[Entry], by: str = "mixer", x: str = "macs", seed: int = 0) -> Crossing:
    groups: dict[str, list[tuple[float, list[float]]]] = defaultdict(list)
    for entry in entries:
        if entry.test_accs and cost(entry, x) > 0:
            groups[group_of(entry, by)].append((cost(entry, x), list(entry.test_accs)))
    return fit_groups(dict(sorted(groups.items())), n_boot=N_BOOT, seed=seed)


def about(log_cost: float) -> str:
    """10^log_cost in two significant digits with an SI suffix: "3 M", "450 k", "1.2 G"."""
    value = 10**log_cost
    steps = ((1e9, " G"), (1e6, " M"), (1e3, " k"))
    factor, suffix = next(((f, s) for f, s in steps if value >= f), (1.0, ""))
    return f"{float(f'{value / factor:.2g}'):g}{suffix}"


def _where(segment: Segment, overlap: tuple[float, float], unit: str) -> str:
    low_end = segment.start <= overlap[0] + 1e-9
    high_end = segment.end >= overlap[1] - 1e-9
    if low_end and high_end:
        return f"across the range both cover ({about(overlap[0])}–{about(overlap[1])} {unit})"
    if low_end:
        return f"below ~{about(segment.end)} {unit}"
    if high_end:
        return f"above ~{about(segment.start)} {unit}"
    return f"between ~{about(segment.start)} and ~{about(segment.end)} {unit}"


def _by(segment: Segment) -> str:
    low, high = 100 * segment.diff_min, 100 * segment.diff_max
    return f"by ~{high:.0f} points" if round(low) == round(high) else f"by {low:.0f}–{high:.0f} points"


def pair_sentence(pair: PairCrossing, unit: str, benchmark: str) -> str | None:
    """Where the pair's bands separate, in words; None when they never do (or cover no common costs)."""
    if pair.overlap is None or not pair.separated:
        return None
    parts = []
    for s in (s for s in pair.segments if s.better is not None):
        other = pair.b if s.better == pair.a else pair.a
        parts.append(f"{_where(s, pair.overlap, unit)}, {s.better} beats {other} on {benchmark} ({_by(s)})")
    parts += [f"{_where(s, pair.overlap, unit)}, no difference can be told" for s in pair.segments if s.better is None]
    text = "; ".join(parts) + "."
    return text[0].upper() + text[1:]


def _summary(crossing: Crossing, sentences: list[str], unit: str, by: str) -> str:
    what = "token mixer (families without one as themselves)" if by == "mixer" else "family"
    if len(crossing.fits) < 2:
        fitted = ", ".join(f.group for f in crossing.fits) or "none"
        return (
            f"Too few entries to compare fits per {what}: fitted {fitted}. A group needs at least 3 entries with "
            "results at two or more costs."
        )
    compared = [p for p in crossing.pairs if p.overlap is not None]
    quiet = len(compared) - len(sentences)
    if not sentences:
        return f"No two {what} fits can be told apart where both have entries ({len(compared)} pairs compared)."
    tail = f" For the other {quiet} pairs that share a range of {unit}, no difference can be told." if quiet else ""
    return " ".join(sentences) + tail


def _segment_out(segment: Segment) -> SegmentOut:
    return SegmentOut(
        cost_from=10**segment.start,
        cost_to=10**segment.end,
        better=segment.better,
        diff_min=segment.diff_min,
        diff_max=segment.diff_max,
    )


def families_out(
    entries: Sequence[Entry], benchmark: str, title: str, version: str, by: str = "mixer", x: str = "macs"
) -> FamiliesOut:
    crossing = crossing_of(entries, by, x)
    unit = UNITS[x]
    pairs = [
        PairOut(
            a=p.a,
            b=p.b,
            overlap=(10 ** p.overlap[0], 10 ** p.overlap[1]) if p.overlap else None,
            separated=p.separated,
            segments=[_segment_out(s) for s in p.segments],
            sentence=pair_sentence(p, unit, title),
        )
        for p in crossing.pairs
    ]
    sentences = [p.sentence for p in pairs if p.sentence]
    fits = [
        FitOut(
            group=f.group,
            n_entries=f.n_entries,
            n_seeds=f.n_seeds,
            cost_min=10 ** f.log_range[0],
            cost_max=10 ** f.log_range[1],
            slope_per_decade=f.slope,
            intercept=f.intercept,
            costs=[10**g for g in f.grid],
            mean=f.mean,
            low=f.low,
            high=f.high,
        )
        for f in crossing.fits
    ]
    return FamiliesOut(
        benchmark=benchmark,
        recipe_version=version,
        by=by,
        x=x,
        confidence=crossing.confidence,
        n_boot=crossing.n_boot,
        method=METHOD.format(n=crossing.n_boot),
        fits=fits,
        too_few=crossing.too_few,
        pairs=pairs,
        sentences=sentences,
        summary=_summary(crossing, sentences, unit, by),
    )
