"""The order in which queued runs train: a fair share across users, not first come, first served.

**The order.** Every user has a *usage*: the projected run-seconds of their runs that are running now plus those
that ended in the last ``WINDOW_S`` (one hour). The next run to train is the
oldest queued run (by ``queued_at``, then id) of the user with the least usage; between users with equal usage,
the one whose next run has waited longest goes first. Run-seconds are each run's projection on the reference CPU,
fixed when it was queued (``runs.projected_seconds``): every user is counted in the same unit whatever device
trains them, and nobody can make their runs look cheaper than their spec is.

The whole queue in that order (the queue page, "n runs ahead of you") repeats the choice, adding each chosen
run's seconds to its user's usage. So a user with one queued run waits for at most one run of a user with thirty
(when both start level), never for all thirty.

The broker's messages do not name the run to train, only that one is due: a worker woken by any
``archarena.train_run`` message claims the fair-next queued run (``app.runs.lifecycle.claim_next``). Every queued
run still has a message of its own, so there are never fewer messages than queued runs (the relay's sweep keeps it
so), and a message whose run was already taken simply wakes a worker for the next.

No commits here; the reads are plain SELECTs.
"""

from __future__ import annotations

import heapq
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app.core.db.tables import Run, RunStatus, Submission, utcnow

WINDOW_S = 3600.0
"""How long a run that ended still counts towards its user's usage."""
DEFAULT_RUN_SECONDS = 60.0
"""What a run queued without a projection (before projections were stored) counts as."""
ACTIVE_WORKER_S = 600.0
"""A worker that ran or ended a run this recently counts as active for the estimates."""
SPEED_SAMPLE = 50
"""Recent finished runs whose measured wall time over their projection calibrates the estimates."""


@dataclass(frozen=True)
class QueuedRun:
    run_id: int
    user_id: int
    submission_id: int
    queued_at: datetime
    seconds: float  # projected run-seconds

    @property
    def key(self) -> tuple[datetime, int]:
        return (self.queued_at, self.run_id)


@dataclass(frozen=True)
class RunningRun:
    run_id: int
    user_id: int
    submission_id: int
    started_at: datetime | None
    seconds: float


def _seconds(value: float | None) -> float:
    return float(value) if value is not None and value > 0 else DEFAULT_RUN_SECONDS


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes for timezone-aware columns; every stored time is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# ---------------------------------------------------------------------------------------------------- the order


def fair_order(queued: Iterable[QueuedRun], usage: Mapping[int, float]) -> list[QueuedRun]:
    """Every queued run in the order they are due (see the module docstring)."""
    per_user: dict[int, deque[QueuedRun]] = defaultdict(deque)
    for run in sorted(queued, key=lambda r: r.key):
        per_user[run.user_id].append(run)
    spent = {user: float(usage.get(user, 0.0)) for user in per_user}
    heap = [(spent[user], *runs[0].key, user) for user, runs in per_user.items()]
    heapq.heapify(heap)
    order: list[QueuedRun] = []
    while heap:
        _, _, _, user = heapq.heappop(heap)
        run = per_user[user].popleft()
        order.append(run)
        spent[user] += run.seconds
        if per_user[user]:
            heapq.heappush(heap, (spent[user], *per_user[user][0].key, user))
    return order


def fair_next(heads: Iterable[QueuedRun], usage: Mapping[int, float]) -> QueuedRun | None:
    """The run due next, from each user's oldest queued run: the first of ``fair_order``, without the rest."""
    return min(heads, key=lambda r: (float(usage.get(r.user_id, 0.0)), *r.key, r.user_id), default=None)


# ---------------------------------------------------------------------------------------------------- the SQL


def usage_by_user(session: Session, since: datetime) -> dict[int, float]:
    """Projected run-seconds per user of runs running now or ended since ``since``."""
    seconds = func.coalesce(Run.projected_seconds, DEFAULT_RUN_SECONDS)
    active = or_(Run.status == RunStatus.RUNNING, and_(Run.status.in_(RunStatus.DONE), Run.finished_at >= since))
    rows = session.execute(
        select(Submission.user_id, func.sum(seconds))
        .join(Submission, Submission.id == Run.submission_id)
        .where(active)
        .group_by(Submission.user_id)
    ).all()
    return {int(user): float(total or 0.0) for user, total in rows}


def _queued_columns() -> tuple[Any, ...]:
    return (Run.id, Submission.user_id, Run.submission_id, Run.queued_at, Run.projected_seconds)


def _queued(row: Any) -> QueuedRun:
    run_id, user_id, submission_id, queued_at, seconds = row
    return QueuedRun(int(run_id), int(user_id), int(submission_id), aware(queued_at), _seconds(seconds))


def queued_runs(session: Session, limit: int | None = None) -> list[QueuedRun]:
    """Queued runs, oldest first (at most ``limit``)."""
    query = (
        select(*_queued_columns())
        .join(Submission, Submission.id == Run.submission_id)
        .where(Run.status == RunStatus.QUEUED)
        .order_by(Run.queued_at, Run.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return [_queued(row) for row in session.execute(query).all()]


def queue_heads(session: Session) -> list[QueuedRun]:
    """Each user's oldest queued run: all the fair choice needs, one row per user."""
    rank = func.row_number().over(partition_by=Submission.user_id, order_by=(Run.queued_at, Run.id)).label("rank")
    inner = (
        select(*_queued_columns(), rank)
        .join(Submission, Submission.id == Run.submission_id)
        .where(Run.status == RunStatus.QUEUED)
        .subquery()
    )
    rows = session.execute(select(*[c for c in inner.c if c.name != "rank"]).where(inner.c.rank == 1)).all()
    return [_queued(row) for row in rows]


def next_queued(session: Session, now: datetime | None = None) -> QueuedRun | None:
    """The queued run due next under the fair order, or None when nothing is queued."""
    since = (now or utcnow()) - timedelta(seconds=WINDOW_S)
    return fair_next(queue_heads(session), usage_by_user(session, since))


def running_runs(session: Session) -> list[RunningRun]:
    rows = session.execute(
        select(Run.id, Submission.user_id, Run.submission_id, Run.started_at, Run.projected_seconds)
        .join(Submission, Submission.id == Run.submission_id)
        .where(Run.status == RunStatus.RUNNING)
        .order_by(Run.started_at, Run.id)
    ).all()
    return [
        RunningRun(int(i), int(u), int(s), aware(t) if t is not None else None, _seconds(p)) for i, u, s, t, p in rows
    ]


def active_workers(session: Session, now: datetime) -> int:
    """Workers that hold a run, or ended one in the last ``ACTIVE_WORKER_S``; at least 1."""
    since = now - timedelta(seconds=ACTIVE_WORKER_S)
    recent = or_(Run.status == RunStatus.RUNNING, and_(Run.status.in_(RunStatus.DONE), Run.finished_at >= since))
    count = session.scalar(select(func.count(func.distinct(Run.worker))).where(recent, Run.worker.is_not(None)))
    return max(1, int(count or 0))


def speed_factor(session: Session) -> float:
    """Measured wall seconds per projected second over the latest finished runs (1.0 without any): turns
    projections on the reference CPU into this fleet's time."""
    rows = session.execute(
        select(Run.wall_seconds, Run.projected_seconds)
        .where(Run.status == RunStatus.FINISHED, Run.wall_seconds.is_not(None), Run.projected_seconds > 0)
        .order_by(Run.finished_at.desc())
        .limit(SPEED_SAMPLE)
    ).all()
    wall = sum(float(w or 0.0) for w, _ in rows)
    projected = sum(float(p or 0.0) for _, p in rows)
    if not rows or projected <= 0 or wall <= 0:
        return 1.0
    return min(100.0, max(0.01, wall / projected))


# ---------------------------------------------------------------------------------------------------- the queue


@dataclass(frozen=True)
class Position:
    """Where a submission's next queued run stands: ``ahead`` queued runs before it, an estimated start."""

    ahead: int
    estimated_start: datetime


@dataclass
class QueueSnapshot:
    """The queue at one moment: the running runs, the queued ones in fair order, and what the estimates use."""

    now: datetime
    running: list[RunningRun]
    order: list[QueuedRun]
    workers: int
    speed: float
    starts: list[float] = field(default_factory=list)  # seconds from now until each run in ``order`` starts

    def __post_init__(self) -> None:
        self.starts = self._estimate_starts()

    def _estimate_starts(self) -> list[float]:
        """List scheduling: each worker is free once its running run's projected remainder is done; each queued
        run, in order, starts on the worker free first."""
        free = [0.0] * self.workers
        for i, held in enumerate(self.running[: self.workers]):
            elapsed = (self.now - held.started_at).total_seconds() if held.started_at else 0.0
            free[i] = max(0.0, held.seconds * self.speed - elapsed)
        heapq.heapify(free)
        starts = []
        for run in self.order:
            start = heapq.heappop(free)
            starts.append(start)
            heapq.heappush(free, start + run.seconds * self.speed)
        return starts

    def position(self, submission_id: int) -> Position | None:
        """None when the submission has no queued run."""
        for i, run in enumerate(self.order):
            if run.submission_id == submission_id:
                return Position(ahead=i, estimated_start=self.now + timedelta(seconds=self.starts[i]))
        return None

    def estimated_start(self, index: int) -> datetime:
        return self.now + timedelta(seconds=self.starts[index])


def snapshot(session: Session, now: datetime | None = None, limit: int = 5000) -> QueueSnapshot:
    """The queue as the scheduler sees it now (at most ``limit`` queued runs)."""
    now = now or utcnow()
    usage = usage_by_user(session, now - timedelta(seconds=WINDOW_S))
    order = fair_order(queued_runs(session, limit), usage)
    return QueueSnapshot(now, running_runs(session), order, active_workers(session, now), speed_factor(session))
