"""Marking a stored board stale, in the transaction of the change that makes it so. One rule for every writer
(the run lifecycle, moderation, the noise reference): a mark is an insert, so concurrent changes never wait on each
other, and the board's refresher (``app.entries.stored``) recomputes it off the request path."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.core.db.tables import BoardMark, Submission


def mark_board(session: Session, benchmark: str, recipe_version: str) -> None:
    session.execute(insert(BoardMark).values(benchmark=benchmark, recipe_version=recipe_version))


def mark_board_of(session: Session, submission_id: int) -> None:
    """Mark the board a submission is filed under (one INSERT … SELECT)."""
    source = select(Submission.benchmark, Submission.recipe_version).where(Submission.id == submission_id)
    session.execute(insert(BoardMark).from_select(["benchmark", "recipe_version"], source))
