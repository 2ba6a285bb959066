"""Leaderboard entries: per-seed results turned into means, intervals, ranks, the frontier and notes.
The numbers come from app.stats (pure); this module only gathers and arranges them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from statistics import fmean
from typing import Any

from sqlalchemy.orm import Session

from app.benchmarks.registry import Benchmark
from app.db.tables import RunStatus, Submission
from app.leaderboard import repository as repo
from app.stats.frontier import pareto_front
from app.stats.overfitting import entry_notes
from app.stats.ranking import rank_groups
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
    gap: float | None
    test_accs: list[float]
    created_at: datetime
    url: str
    rank: int | None = None
    on_frontier: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        return data


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return fmean(present) if present else None


def build_entry(submission: Submission) -> Entry:
    finished = [r for r in submission.runs if r.status == RunStatus.FINISHED and r.test_acc is not None]
    test_accs = [float(r.test_acc) for r in finished if r.test_acc is not None]
    summary = summarize(test_accs) if test_accs else None
    train_mean = _mean([r.train_acc for r in finished])
    test_mean = summary.mean if summary else None
    return Entry(
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
        gap=(train_mean - test_mean) if train_mean is not None and test_mean is not None else None,
        test_accs=test_accs,
        created_at=submission.created_at,
        url=f"/submissions/{submission.id}",
    )


def leaderboard(session: Session, benchmark: Benchmark, max_epochs: int | None) -> list[Entry]:
    """Entries with results first, best mean first; then the ones still waiting for their first seed."""
    version = effective_recipe_version(benchmark.recipe, max_epochs)
    entries = [build_entry(s) for s in repo.submissions_for(session, benchmark.slug, version)]
    scored = sorted((e for e in entries if e.test_acc_mean is not None), key=lambda e: -(e.test_acc_mean or 0))
    pending = [e for e in entries if e.test_acc_mean is None]
    if scored:
        for entry, rank in zip(scored, rank_groups([e.test_accs for e in scored]), strict=True):
            entry.rank = rank
        for index in pareto_front([e.macs for e in scored], [e.test_acc_mean or 0.0 for e in scored]):
            scored[index].on_frontier = True
        for entry in scored:
            entry.notes = entry_notes(
                train_acc=entry.train_acc_mean,
                val_acc=entry.val_acc_mean,
                test_acc=entry.test_acc_mean,
                test_std=entry.test_acc_std,
                n_seeds=entry.n,
            )
    return scored + pending


def frontier(entries: list[Entry]) -> list[Entry]:
    return sorted((e for e in entries if e.on_frontier), key=lambda e: e.macs)
