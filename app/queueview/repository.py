"""SQL for the queue page: the newest runs with their submission, and run counts per status. Runs of deleted
submissions are left out (they were cancelled with them); hidden ones stay, marked on the page."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, contains_eager

from app.core.db.tables import Run, Submission


def recent_runs(session: Session, *, status: str | None, limit: int) -> list[Run]:
    query = (
        select(Run).join(Run.submission).where(Submission.deleted_at.is_(None)).options(contains_eager(Run.submission))
    )
    if status:
        query = query.where(Run.status == status)
    return list(session.scalars(query.order_by(Run.id.desc()).limit(limit)))


def status_counts(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(Run.status, func.count())
        .join(Submission, Submission.id == Run.submission_id)
        .where(Submission.deleted_at.is_(None))
        .group_by(Run.status)
    ).all()
    return {str(row[0]): int(row[1]) for row in rows}
