"""Learning curves across seeds: the one place where per-run epoch series become a mean curve with its spread
(the submission page, compare and studies all draw this)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import fmean, stdev


@dataclass(frozen=True)
class MeanCurve:
    epochs: list[int] = field(default_factory=list)
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)  # across the seeds that reached the epoch; 0 for one seed
    n: list[int] = field(default_factory=list)


def mean_curve(runs: Sequence[Sequence[tuple[int, float]]]) -> MeanCurve:
    """``runs`` holds each seed's (epoch, value) points; the result averages, per epoch, the seeds that reached
    it (a seed still training contributes its epochs so far)."""
    by_epoch: dict[int, list[float]] = defaultdict(list)
    for points in runs:
        for epoch, value in points:
            by_epoch[epoch].append(value)
    epochs = sorted(by_epoch)
    values = [by_epoch[e] for e in epochs]
    return MeanCurve(
        epochs=epochs,
        mean=[fmean(v) for v in values],
        std=[stdev(v) if len(v) > 1 else 0.0 for v in values],
        n=[len(v) for v in values],
    )
