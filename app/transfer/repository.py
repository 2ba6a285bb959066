"""All SQL of the transfer views. No commits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.core.db.tables import Run, RunKind, RunStatus, Submission

MAX_ENTRIES = 500  # a benchmark's transfer chart: the most recent entries with transfer results


def run_with_submission(session: Session, run_id: int) -> Run | None:
    return session.scalar(select(Run).where(Run.id == run_id).options(selectinload(Run.submission)))


def submission_runs(session: Session, submission_id: int) -> Submission | None:
    """A live submission with its own runs and its downstream runs (None when absent or deleted)."""
    return session.scalar(
        select(Submission)
        .where(Submission.id == submission_id, Submission.deleted_at.is_(None))
        .options(selectinload(Submission.runs), selectinload(Submission.transfer_runs))
    )


def entries_with_transfer(session: Session, benchmark: str) -> list[Submission]:
    """The benchmark's visible entries that have a finished downstream run, newest first."""
    has_transfer = (
        select(Run.submission_id).where(Run.kind.in_(RunKind.TRANSFER), Run.status == RunStatus.FINISHED).distinct()
    )
    return list(
        session.scalars(
            select(Submission)
            .where(
                Submission.benchmark == benchmark,
                Submission.deleted_at.is_(None),
                Submission.hidden_reason.is_(None),
                Submission.id.in_(has_transfer),
            )
            .options(selectinload(Submission.runs), selectinload(Submission.transfer_runs))
            .order_by(Submission.id.desc())
            .limit(MAX_ENTRIES)
        )
    )
