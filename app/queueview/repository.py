"""SQL for the queue page: runs with their submission and its user, and run counts per status. Runs of deleted
submissions are left out (they were cancelled with them); hidden ones stay, marked on the page."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, contains_eager, selectinload
from sqlalchemy.sql.base import ExecutableOption

from app.core.db.tables import Run, RunStatus, Submission


def _with_submission() -> ExecutableOption:
    return contains_eager(Run.submission).selectinload(Submission.user)


def recent_runs(session: Session, *, status: str | None, limit: int, user_id: int | None = None) -> list[Run]:
    query = select(Run).join(Run.submission).where(Submission.deleted_at.is_(None)).options(_with_submission())
    if status:
        query = query.where(Run.status == status)
    if user_id is not None:
        query = query.where(Submission.user_id == user_id)
    return list(session.scalars(query.order_by(Run.id.desc()).limit(limit)))


def running_runs(session: Session, *, user_id: int | None = None) -> list[Run]:
    """Runs being trained now, oldest start first."""
    query = (
        select(Run)
        .join(Run.submission)
        .options(_with_submission())
        .where(Run.status == RunStatus.RUNNING, Submission.deleted_at.is_(None))
    )
    if user_id is not None:
        query = query.where(Submission.user_id == user_id)
    return list(session.scalars(query.order_by(Run.started_at, Run.id)))


def runs_by_id(session: Session, run_ids: Sequence[int]) -> dict[int, Run]:
    if not run_ids:
        return {}
    query = (
        select(Run).where(Run.id.in_(list(run_ids))).options(selectinload(Run.submission).selectinload(Submission.user))
    )
    return {run.id: run for run in session.scalars(query)}


def status_counts(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(Run.status, func.count())
        .join(Submission, Submission.id == Run.submission_id)
        .where(Submission.deleted_at.is_(None))
        .group_by(Run.status)
    ).all()
    return {str(row[0]): int(row[1]) for row in rows}
