"""All SQL about submissions and their runs. No commits here: the request or task boundary commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, selectinload

from app.core.db.tables import EpochMetric, Run, RunStatus, Submission, User, utcnow


def add_submission(session: Session, submission: Submission, seeds: Sequence[int]) -> Submission:
    submission.runs = [Run(seed=seed, status=RunStatus.QUEUED) for seed in seeds]
    session.add(submission)
    session.flush()
    return submission


def add_runs(session: Session, submission: Submission, seeds: Sequence[int]) -> list[int]:
    """More seeds for a submission (added seeds, a study's new look): a queued run each, counted in
    seeds_requested. Returns the run ids; the caller updates the submission's status."""
    runs = [Run(submission_id=submission.id, seed=seed, status=RunStatus.QUEUED) for seed in seeds]
    session.add_all(runs)
    submission.seeds_requested += len(runs)
    session.flush()
    return [run.id for run in runs]


def get_submission(session: Session, submission_id: int, *, with_epochs: bool = False) -> Submission | None:
    runs = selectinload(Submission.runs)
    options = [selectinload(Submission.user), runs.selectinload(Run.epochs) if with_epochs else runs]
    return session.scalar(select(Submission).where(Submission.id == submission_id).options(*options))


def list_submissions(
    session: Session,
    *,
    benchmark: str | None = None,
    user: str | None = None,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Submission]:
    query = select(Submission).options(selectinload(Submission.user), selectinload(Submission.runs))
    if benchmark:
        query = query.where(Submission.benchmark == benchmark)
    if user:
        query = query.join(Submission.user).where(User.name == user)
    if status:
        query = query.where(Submission.status == status)
    query = query.order_by(Submission.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(query))


def delete_submission(session: Session, submission: Submission) -> None:
    session.delete(submission)
    session.flush()


def queued_run_ids(session: Session) -> list[int]:
    """Queued runs, oldest submission first, its seeds in order (first come, first served)."""
    query = select(Run.id).where(Run.status == RunStatus.QUEUED).order_by(Run.submission_id, Run.seed)
    return list(session.scalars(query))


# --- the run lifecycle, used by the worker -------------------------------------------------------------


def claim_run(session: Session, run_id: int, *, worker: str, device: str) -> bool:
    """Claim a queued run with an UPDATE guarded on its status. Exactly one caller wins; a run that is
    running elsewhere or already done is left alone, so a task delivered twice trains once."""
    now = utcnow()
    result = session.execute(
        update(Run)
        .where(Run.id == run_id, Run.status == RunStatus.QUEUED)
        .values(
            status=RunStatus.RUNNING,
            attempts=Run.attempts + 1,
            worker=worker,
            device=device,
            started_at=now,
            heartbeat_at=now,
            epochs_done=0,
        )
        .execution_options(synchronize_session=False)
    )
    claimed = bool(result.rowcount)  # type: ignore[attr-defined]
    if claimed:
        # A re-run starts a fresh history, so the epoch curve never has gaps or duplicates.
        session.execute(delete(EpochMetric).where(EpochMetric.run_id == run_id))
    return claimed


def get_run(session: Session, run_id: int) -> Run | None:
    return session.scalar(select(Run).where(Run.id == run_id).options(selectinload(Run.submission)))


def set_run_fields(session: Session, run_id: int, **values: Any) -> None:
    session.execute(update(Run).where(Run.id == run_id).values(**values).execution_options(synchronize_session=False))


def record_epoch(session: Session, run_id: int, worker: str, metrics: dict[str, Any]) -> bool:
    """Store one epoch's metrics if this worker still owns the run."""
    owned = session.execute(
        update(Run)
        .where(Run.id == run_id, Run.status == RunStatus.RUNNING, Run.worker == worker)
        .values(epochs_done=metrics["epoch"], heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not owned.rowcount:  # type: ignore[attr-defined]
        return False
    session.add(EpochMetric(run_id=run_id, **metrics))
    return True


def finish_run(session: Session, run_id: int, worker: str, status: str, values: dict[str, Any]) -> bool:
    """Write the final outcome once: only the worker that holds the running run can."""
    result = session.execute(
        update(Run)
        .where(Run.id == run_id, Run.status == RunStatus.RUNNING, Run.worker == worker)
        .values(status=status, finished_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def refresh_submission_status(session: Session, submission_id: int) -> str:
    rows = session.execute(
        select(Run.status, func.count()).where(Run.submission_id == submission_id).group_by(Run.status)
    ).all()
    counts = {status: n for status, n in rows}
    status = aggregate_status(counts)
    session.execute(
        update(Submission)
        .where(Submission.id == submission_id)
        .values(status=status, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return status


def aggregate_status(counts: dict[str, int]) -> str:
    total = sum(counts.values())
    done = counts.get(RunStatus.FINISHED, 0) + counts.get(RunStatus.FAILED, 0)
    if total and done == total:
        return RunStatus.FINISHED if counts.get(RunStatus.FINISHED) else RunStatus.FAILED
    if counts.get(RunStatus.RUNNING) or done:
        return RunStatus.RUNNING
    return RunStatus.QUEUED


def stale_running_runs(session: Session, older_than: datetime) -> list[Run]:
    return list(session.scalars(select(Run).where(Run.status == RunStatus.RUNNING, Run.heartbeat_at < older_than)))


def touch_heartbeat(session: Session, run_id: int, worker: str) -> bool:
    """Mark the run alive. False when this worker no longer holds it (the reaper gave it to another)."""
    result = session.execute(
        update(Run)
        .where(Run.id == run_id, Run.status == RunStatus.RUNNING, Run.worker == worker)
        .values(heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _stale(run: Run, older_than: datetime) -> Any:
    """The guard of every reaper write: still running, still this many attempts, and still silent (a worker
    that heartbeats between the reaper's read and its write keeps its run)."""
    return (
        (Run.id == run.id)
        & (Run.status == RunStatus.RUNNING)
        & (Run.attempts == run.attempts)
        & (Run.heartbeat_at < older_than)
    )


def requeue_stale_run(session: Session, run: Run, older_than: datetime) -> bool:
    """Put a run whose worker stopped responding back in the queue. Attempts were counted at claim; the next
    claim resets its epoch history."""
    result = session.execute(
        update(Run)
        .where(_stale(run, older_than))
        .values(status=RunStatus.QUEUED)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def fail_stale_run(session: Session, run: Run, older_than: datetime, kind: str, message: str) -> bool:
    """End a run whose worker stopped responding too many times."""
    result = session.execute(
        update(Run)
        .where(_stale(run, older_than))
        .values(status=RunStatus.FAILED, finished_at=utcnow(), error_kind=kind, error_message=message)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
