"""Leaderboard entries: per-seed results turned into means, intervals, ranks, the frontier and notes.
The numbers come from app.stats (pure); this module only gathers and arranges them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from statistics import fmean
from typing import Any

from sqlalchemy.orm import Session

from app.benchmarks.registry import Benchmark
from app.core.db.tables import RunStatus, Submission
from app.leaderboard import repository as repo
from app.stats.frontier import frontier_within_noise, pareto_front
from app.stats.overfitting import entry_notes, second_test_residuals
from app.stats.ranking import pooled_std, rank_groups
from app.stats.summary import summarize
from app.submissions.service import effective_recipe_version


@dataclass
class Entry:
    id: int
    name: str
    user: str
    family: str
    mixer: str | None
    params: int
    macs: int
    flops: int
    status: str
    seeds_requested: int
    n: int
    test_acc_mean: float | None
    test_acc_std: float | None
    test_acc_ci: tuple[float, float] | None
    train_acc_mean: float | None
    val_acc_mean: float | None
    test2_acc_mean: float | None
    shape_bias: float | None
    gap: float | None
    test_accs: list[float]
    created_at: datetime
    url: str
    rank: int | None = None
    on_frontier: bool = False
    frontier_within_noise_of: int | None = None
    test2_residual: float | None = None
    test2_flag: bool = False
    is_baseline: bool = False
    try_number: int = 1
    gain_over_previous_best: float | None = None
    notes: list[str] = field(default_factory=list)
    flag_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        return data


@dataclass(frozen=True)
class Board:
    entries: list[Entry]
    noise_std: float
    noise_df: int
    test2_fit: dict[str, Any] | None


def _shape_bias(shape_acc: float | None, texture_acc: float | None) -> float | None:
    """Of the cue-conflict decisions that follow either cue, the fraction that follow the shape."""
    if shape_acc is None or texture_acc is None or shape_acc + texture_acc <= 0:
        return None
    return shape_acc / (shape_acc + texture_acc)


def _shape_bias_note(bias: float | None) -> list[str]:
    if bias is None:
        return []
    return [
        f"On cue-conflict images (one class's shape, another's texture) it follows the shape in {100 * bias:.0f}% "
        f"of the decisions that follow either cue (shape bias {bias:.2f}); the rest follow the texture."
    ]


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return fmean(present) if present else None


def build_entry(submission: Submission, noise_std: float | None = None, noise_df: int | None = None) -> Entry:
    finished = [r for r in submission.runs if r.status == RunStatus.FINISHED and r.test_acc is not None]
    test_accs = [float(r.test_acc) for r in finished if r.test_acc is not None]
    summary = summarize(test_accs, noise_std=noise_std or None, noise_df=noise_df or None) if test_accs else None
    train_mean = _mean([r.train_acc for r in finished])
    test_mean = summary.mean if summary else None
    entry = Entry(
        id=submission.id,
        name=submission.name,
        user=submission.user.name,
        family=submission.family,
        mixer=submission.mixer,
        params=submission.params,
        macs=submission.macs,
        flops=2 * submission.macs,
        status=submission.status,
        seeds_requested=submission.seeds_requested,
        n=len(test_accs),
        test_acc_mean=test_mean,
        test_acc_std=summary.std if summary else None,
        test_acc_ci=(summary.ci_low, summary.ci_high) if summary else None,
        train_acc_mean=train_mean,
        val_acc_mean=_mean([r.val_acc for r in finished]),
        test2_acc_mean=_mean([r.test2_acc for r in finished]),
        shape_bias=_mean([_shape_bias(r.test2_acc, r.test2_texture_acc) for r in finished]),
        gap=(train_mean - test_mean) if train_mean is not None and test_mean is not None else None,
        test_accs=test_accs,
        created_at=submission.created_at,
        url=f"/submissions/{submission.id}",
        is_baseline=submission.is_baseline,
        flag_reason=submission.flag_reason,
    )
    if test_mean is not None:
        entry.notes = entry_notes(
            train_acc=entry.train_acc_mean,
            val_acc=entry.val_acc_mean,
            test_acc=test_mean,
            test_std=entry.test_acc_std,
            n_seeds=entry.n,
        ) + _shape_bias_note(entry.shape_bias)
    return entry


def board(session: Session, benchmark: Benchmark, max_epochs: int | None) -> Board:
    """Entries with results first, best mean first; then the ones still waiting for their first seed."""
    version = effective_recipe_version(benchmark.recipe, max_epochs)
    submissions = repo.submissions_for(session, benchmark.slug, version)
    per_seed = [
        [float(r.test_acc) for r in s.runs if r.status == RunStatus.FINISHED and r.test_acc is not None]
        for s in submissions
    ]
    noise_std, noise_df = pooled_std([accs for accs in per_seed if accs])
    entries = [build_entry(s, noise_std, noise_df) for s in submissions]
    scored = sorted((e for e in entries if e.test_acc_mean is not None), key=lambda e: -(e.test_acc_mean or 0.0))
    pending = [e for e in entries if e.test_acc_mean is None]
    fit = _annotate(scored, noise_std) if scored else None
    return Board(entries=scored + pending, noise_std=noise_std, noise_df=noise_df, test2_fit=fit)


def _annotate(scored: list[Entry], noise_std: float) -> dict[str, Any] | None:
    for entry, rank in zip(scored, rank_groups([e.test_accs for e in scored]), strict=True):
        entry.rank = rank
    costs = [float(e.macs) for e in scored]
    means = [e.test_acc_mean or 0.0 for e in scored]
    for index in pareto_front(costs, means):
        scored[index].on_frontier = True
    lows = [e.test_acc_ci[0] if e.test_acc_ci else m for e, m in zip(scored, means, strict=True)]
    highs = [e.test_acc_ci[1] if e.test_acc_ci else m for e, m in zip(scored, means, strict=True)]
    for item in frontier_within_noise(costs, means, lows, highs):
        j = item["within_noise_of"]
        scored[item["index"]].frontier_within_noise_of = None if j is None else scored[j].id
    fit = _second_test_fit(scored)
    _tries(scored)
    for entry in scored:
        entry.notes = entry_notes(
            train_acc=entry.train_acc_mean,
            val_acc=entry.val_acc_mean,
            test_acc=entry.test_acc_mean or 0.0,
            test_std=entry.test_acc_std,
            n_seeds=entry.n,
            second_residual=entry.test2_residual,
            second_sigma=fit["sigma"] if fit else None,
            k_th_try=entry.try_number,
            gain_over_previous_best=entry.gain_over_previous_best,
            noise_std=noise_std or None,
        ) + _shape_bias_note(entry.shape_bias)
    return fit


def _second_test_fit(scored: list[Entry]) -> dict[str, Any] | None:
    """Second-test accuracy against first-test accuracy across the benchmark's entries; an entry far below the
    line may be tuned to the first test set."""
    both = [e for e in scored if e.test2_acc_mean is not None]
    if len(both) < 3:
        return None
    fit = second_test_residuals([e.test_acc_mean or 0.0 for e in both], [e.test2_acc_mean or 0.0 for e in both])
    for entry, residual, flag in zip(both, fit["residuals"], fit["flags"], strict=True):
        entry.test2_residual = float(residual)
        entry.test2_flag = bool(flag)
    return {k: fit[k] for k in ("n", "slope", "intercept", "sigma")}


def _tries(scored: list[Entry]) -> None:
    """Number each user's entries on this benchmark in submission order, and the gain of each over the
    user's best earlier one (the best of k tries gains from seed noise alone). Baselines are a fixed set of
    different architectures, not retries, so they are not counted."""
    by_user: dict[str, list[Entry]] = defaultdict(list)
    for entry in sorted(scored, key=lambda e: (e.created_at, e.id)):
        if not entry.is_baseline:
            by_user[entry.user].append(entry)
    for entries in by_user.values():
        best: float | None = None
        for k, entry in enumerate(entries, start=1):
            entry.try_number = k
            mean = entry.test_acc_mean or 0.0
            if best is not None:
                entry.gain_over_previous_best = mean - best
            best = mean if best is None else max(best, mean)


def leaderboard(session: Session, benchmark: Benchmark, max_epochs: int | None) -> list[Entry]:
    return board(session, benchmark, max_epochs).entries


def frontier(entries: list[Entry]) -> list[Entry]:
    return sorted((e for e in entries if e.on_frontier), key=lambda e: e.macs)
