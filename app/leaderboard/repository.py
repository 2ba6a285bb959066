"""SQL for the leaderboard: a benchmark's visible submissions with their runs."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.core.db.tables import Submission


def submissions_for(session: Session, benchmark: str, recipe_version: str) -> list[Submission]:
    query = (
        select(Submission)
        .where(
            Submission.benchmark == benchmark,
            Submission.recipe_version == recipe_version,
            Submission.hidden_reason.is_(None),  # hidden by an admin: off every board
        )
        .options(selectinload(Submission.user), selectinload(Submission.runs))
        .order_by(Submission.id)
    )
    return list(session.scalars(query))
