"""All SQL of the run lifecycle: add, claim, heartbeat, epoch rows, finish, aggregate status, requeue and reap.
No commits here: the request or task boundary commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, selectinload

from app.benchmarks.recipes import epochs_in_version
from app.benchmarks.registry import UnknownBenchmark, get_benchmark
from app.core.db.boardmarks import mark_board, mark_board_of
from app.core.db.tables import EpochMetric, QuotaCharge, Run, RunKind, RunStatus, Submission, utcnow
from app.core.queue.outbox import enqueue_runs

# Every per-run field a training attempt writes: a re-queued run starts from nothing, as a new one does.
_FRESH_RUN: dict[str, Any] = {
    "status": RunStatus.QUEUED,
    "attempts": 0,
    "device": None,
    "worker": None,
    "started_at": None,
    "finished_at": None,
    "heartbeat_at": None,
    "epochs_total": None,
    "epochs_done": 0,
    **{f"{split}_{metric}": None for split in ("train", "val", "test", "test2") for metric in ("loss", "acc")},
    "test2_texture_acc": None,
    "wall_seconds": None,
    "images_per_second": None,
    "error_kind": None,
    "error_message": None,
    "recipe_version": None,
    "code_version": None,
    "torch_version": None,
    "weights_key": None,
}


def projected_run_seconds(submission: Submission) -> float | None:
    """One run of the submission on the reference CPU: its spec's seconds per image × the images and epochs its
    recipe version trains (None for a submission stored without a cost)."""
    if submission.train_s_per_image is None:
        return None
    try:
        benchmark = get_benchmark(submission.benchmark)
    except UnknownBenchmark:
        return None
    epochs = epochs_in_version(benchmark.recipe, submission.recipe_version)
    return benchmark.run_seconds(submission.train_s_per_image, epochs=epochs, train_fraction=submission.train_fraction)


def queue_new_runs(
    session: Session, submission_id: int, seeds: Sequence[int], projected_seconds: float | None = None
) -> list[int]:
    """A queued run per seed, each with its outbox row (sent by the relay after the commit). Returns the ids."""
    runs = [
        Run(submission_id=submission_id, seed=seed, status=RunStatus.QUEUED, projected_seconds=projected_seconds)
        for seed in seeds
    ]
    session.add_all(runs)
    session.flush()
    ids = [run.id for run in runs]
    enqueue_runs(session, ids)
    return ids


def attach_new_runs(session: Session, submission: Submission, seeds: Sequence[int]) -> None:
    """A new submission's runs, a queued one per seed, each with its outbox row."""
    projected = projected_run_seconds(submission)
    submission.runs = [Run(seed=seed, status=RunStatus.QUEUED, projected_seconds=projected) for seed in seeds]
    session.add(submission)
    session.flush()
    enqueue_runs(session, [run.id for run in submission.runs])
    mark_board(session, submission.benchmark, submission.recipe_version)  # a new entry, waiting for its seeds


def add_runs(session: Session, submission: Submission, seeds: Sequence[int]) -> list[int]:
    """More seeds for a submission (added seeds, a study's new look), counted in seeds_requested. Returns the
    run ids; the caller updates the submission's status."""
    ids = queue_new_runs(session, submission.id, seeds, projected_run_seconds(submission))
    submission.seeds_requested += len(ids)
    return ids


def queue_transfer_runs(session: Session, parent: Run, plan: Sequence[tuple[str, str, float | None]]) -> list[int]:
    """Downstream runs of a finished upstream run, one per (task, kind, projected seconds) of ``plan``, queued
    with their outbox rows in the caller's transaction. A run already there (the same upstream seed finished
    again after a re-run) is queued afresh rather than duplicated."""
    ids: list[int] = []
    for task, kind, projected in plan:
        existing = session.scalar(
            select(Run).where(
                Run.submission_id == parent.submission_id, Run.seed == parent.seed, Run.kind == kind, Run.task == task
            )
        )
        if existing is not None:
            if existing.status in RunStatus.DONE:
                ids += requeue_runs(session, [existing.id])
            continue
        run = Run(
            submission_id=parent.submission_id,
            seed=parent.seed,
            kind=kind,
            task=task,
            parent_run_id=parent.id,
            status=RunStatus.QUEUED,
            projected_seconds=projected,
        )
        session.add(run)
        session.flush()
        ids.append(run.id)
        enqueue_runs(session, [run.id])
    return ids


def get_weights_key(session: Session, run_id: int) -> str | None:
    return session.scalar(select(Run.weights_key).where(Run.id == run_id))


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


def queued_sibling_ids(session: Session, submission_id: int, other_than: int) -> list[int]:
    """The submission's other queued runs of its own benchmark (downstream runs train one by one), by seed."""
    return list(
        session.scalars(
            select(Run.id)
            .where(
                Run.submission_id == submission_id,
                Run.kind == RunKind.UPSTREAM,
                Run.status == RunStatus.QUEUED,
                Run.id != other_than,
            )
            .order_by(Run.seed)
        )
    )


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


def restart_history(session: Session, run_id: int, worker: str) -> bool:
    """Start a held run's epoch history again (a batched attempt that ran out of memory is retried alone)."""
    owned = session.execute(
        update(Run)
        .where(Run.id == run_id, Run.status == RunStatus.RUNNING, Run.worker == worker)
        .values(epochs_done=0, heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not owned.rowcount:  # type: ignore[attr-defined]
        return False
    session.execute(delete(EpochMetric).where(EpochMetric.run_id == run_id))
    return True


def settle_charge(session: Session, run_id: int, seconds: float, outcome: str) -> None:
    """Settle the run's open quota charge (if a user paid for this attempt) with the seconds it used."""
    open_charge = (
        select(func.max(QuotaCharge.id))
        .where(QuotaCharge.run_id == run_id, QuotaCharge.settled_at.is_(None))
        .scalar_subquery()
    )
    session.execute(
        update(QuotaCharge)
        .where(QuotaCharge.id == open_charge)
        .values(seconds=max(0.0, seconds), settled_at=utcnow(), outcome=outcome)
        .execution_options(synchronize_session=False)
    )


def refresh_submission_status(session: Session, submission_id: int) -> str:
    """Recompute a submission's status from its runs (its own seeds: downstream runs do not reopen a finished
    entry). The submission's row is locked first: two workers that
    finish the last two runs at once would otherwise each count the other's run as still running (neither sees
    the other's uncommitted write) and leave the submission 'running' for good. Under the lock, the second
    one's count sees the first one's committed finish."""
    lock_submission(session, submission_id)
    rows = session.execute(
        select(Run.status, func.count())
        .where(Run.submission_id == submission_id, Run.kind == RunKind.UPSTREAM)
        .group_by(Run.status)
    ).all()
    counts = {status: n for status, n in rows}
    status = aggregate_status(counts)
    session.execute(
        update(Submission)
        .where(Submission.id == submission_id)
        .values(status=status, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    mark_board_of(session, submission_id)  # its runs changed: its board is recomputed from this commit on
    return status


def lock_submission(session: Session, submission_id: int) -> None:
    """Hold the submission's row until the transaction ends (PostgreSQL: FOR UPDATE; SQLite serialises writers
    anyway, and a no-op UPDATE takes its write lock now rather than at commit)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            update(Submission)
            .where(Submission.id == submission_id)
            .values(id=Submission.id)
            .execution_options(synchronize_session=False)
        )
    else:
        session.execute(select(Submission.id).where(Submission.id == submission_id).with_for_update())


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
    requeued = bool(result.rowcount)  # type: ignore[attr-defined]
    if requeued:
        enqueue_runs(session, [run.id])
    return requeued


def fail_stale_run(session: Session, run: Run, older_than: datetime, kind: str, message: str) -> bool:
    """End a run whose worker stopped responding too many times."""
    result = session.execute(
        update(Run)
        .where(_stale(run, older_than))
        .values(status=RunStatus.FAILED, finished_at=utcnow(), error_kind=kind, error_message=message)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def requeue_runs(session: Session, run_ids: Sequence[int]) -> list[int]:
    """Put finished or failed runs back in the queue as if new: attempts, errors, results and epoch history
    are cleared, and each gets an outbox row. Guarded on status, so a run that is queued or running is left
    alone."""
    if not run_ids:
        return []
    done = list(
        session.scalars(select(Run.id).where(Run.id.in_(run_ids), Run.status.in_(RunStatus.DONE)).with_for_update())
    )
    if done:
        session.execute(delete(EpochMetric).where(EpochMetric.run_id.in_(done)))
        session.execute(
            update(Run)
            .where(Run.id.in_(done), Run.status.in_(RunStatus.DONE))
            .values(**_FRESH_RUN, queued_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        enqueue_runs(session, done)
    return done


def requeue_all_running(session: Session) -> list[int]:
    """Every running run back to queued (its epoch history is reset at the next claim), with its outbox row."""
    ids = list(session.scalars(select(Run.id).where(Run.status == RunStatus.RUNNING).with_for_update()))
    if ids:
        session.execute(
            update(Run)
            .where(Run.id.in_(ids), Run.status == RunStatus.RUNNING)
            .values(status=RunStatus.QUEUED, worker=None, heartbeat_at=None)
            .execution_options(synchronize_session=False)
        )
        enqueue_runs(session, ids)
        for submission_id in set(session.scalars(select(Run.submission_id).where(Run.id.in_(ids)))):
            refresh_submission_status(session, submission_id)
    return ids


CANCELLED = "cancelled"  # error_kind of a run stopped because its submission was deleted


def is_cancelled(session: Session, run_id: int) -> bool:
    """Whether the run should stop now: its submission was deleted (its queued and running runs were failed as
    'cancelled' with it), or the run was cancelled. A worker asks between steps or epochs; the next epoch write
    also finds the run no longer its own (it is no longer 'running')."""
    row = session.execute(
        select(Run.status, Run.error_kind, Submission.deleted_at)
        .join(Submission, Submission.id == Run.submission_id)
        .where(Run.id == run_id)
    ).first()
    if row is None:
        return True
    status, error_kind, deleted_at = row
    return deleted_at is not None or (status == RunStatus.FAILED and error_kind == CANCELLED)
