"""SQL of creating submissions: a new one with its runs, and the duplicate lookup. No commits here: the request
or task boundary commits."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.db.tables import Submission
from app.runs import repository as runs_repo


def add_submission(session: Session, submission: Submission, seeds: Sequence[int]) -> Submission:
    """The submission and a queued run per seed (each with its outbox row: sent after the commit)."""
    runs_repo.attach_new_runs(session, submission, seeds)
    return submission


def find_same_spec(session: Session, benchmark: str, spec_hash: str, recipe_version: str) -> Submission | None:
    """The oldest submission of this exact spec under this recipe version, by anyone."""
    return session.scalar(
        select(Submission)
        .where(
            Submission.benchmark == benchmark,
            Submission.spec_hash == spec_hash,
            Submission.recipe_version == recipe_version,
        )
        .order_by(Submission.id)
        .limit(1)
    )


def without_lineage(session: Session) -> list[Submission]:
    return list(session.scalars(select(Submission).where(Submission.lineage_key.is_(None)).order_by(Submission.id)))
