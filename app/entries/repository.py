"""SQL of the entries read model: a board's visible submissions with their runs, one submission with its runs
and epochs, and lists of submissions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.core.db.tables import NoiseReferenceRow, Run, RunStatus, Submission, User


def submissions_for(session: Session, benchmark: str, recipe_version: str) -> list[Submission]:
    query = (
        select(Submission)
        .where(
            Submission.benchmark == benchmark,
            Submission.recipe_version == recipe_version,
            Submission.hidden_reason.is_(None),  # hidden by an admin: off every board
            Submission.deleted_at.is_(None),
        )
        .options(selectinload(Submission.user), selectinload(Submission.runs))
        .order_by(Submission.id)
    )
    return list(session.scalars(query))


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
    include_hidden: bool = False,
) -> list[Submission]:
    """Live (not deleted) submissions, newest first; hidden ones only with ``include_hidden``."""
    query = (
        select(Submission)
        .where(Submission.deleted_at.is_(None))
        .options(selectinload(Submission.user), selectinload(Submission.runs))
    )
    if not include_hidden:
        query = query.where(Submission.hidden_reason.is_(None))
    if benchmark:
        query = query.where(Submission.benchmark == benchmark)
    if user:
        query = query.join(Submission.user).where(User.name == user)
    if status:
        query = query.where(Submission.status == status)
    query = query.order_by(Submission.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(query))


def finished_test_accs(session: Session, benchmark: str, recipe_version: str) -> list[list[float]]:
    """Per visible submission of a board, the test accuracies of its finished runs (one query, no ORM rows)."""
    query = (
        select(Run.submission_id, Run.test_acc)
        .join(Submission, Submission.id == Run.submission_id)
        .where(
            Submission.benchmark == benchmark,
            Submission.recipe_version == recipe_version,
            Submission.hidden_reason.is_(None),
            Submission.deleted_at.is_(None),
            Run.status == RunStatus.FINISHED,
            Run.test_acc.is_not(None),
        )
        .order_by(Run.submission_id, Run.seed)
    )
    by_submission: dict[int, list[float]] = {}
    for submission_id, acc in session.execute(query):
        by_submission.setdefault(int(submission_id), []).append(float(acc or 0.0))
    return list(by_submission.values())


def noise_reference(session: Session, benchmark: str, recipe_version: str) -> NoiseReferenceRow | None:
    return session.scalar(
        select(NoiseReferenceRow).where(
            NoiseReferenceRow.benchmark == benchmark, NoiseReferenceRow.recipe_version == recipe_version
        )
    )


def add_noise_reference(
    session: Session, benchmark: str, recipe_version: str, reference: dict[str, Any], entry_ids: list[int]
) -> NoiseReferenceRow:
    row = NoiseReferenceRow(
        benchmark=benchmark, recipe_version=recipe_version, reference=reference, entry_ids=entry_ids
    )
    session.add(row)
    session.flush()
    return row


def reference_entries(session: Session, benchmark: str, recipe_version: str) -> list[Submission]:
    """The platform's reference entries of a board: its baselines (and multi-seed references), with their runs."""
    query = (
        select(Submission)
        .where(
            Submission.benchmark == benchmark,
            Submission.recipe_version == recipe_version,
            Submission.is_baseline.is_(True),
            Submission.deleted_at.is_(None),
        )
        .options(selectinload(Submission.runs))
        .order_by(Submission.id)
    )
    return list(session.scalars(query))


def lineage_members(session: Session, benchmark: str, recipe_version: str) -> list[Submission]:
    """Every try on a board, hidden ones included (their seeds count in their lineage), with their runs."""
    query = (
        select(Submission)
        .where(Submission.benchmark == benchmark, Submission.recipe_version == recipe_version)
        .options(selectinload(Submission.user), selectinload(Submission.runs))
        .order_by(Submission.id)
    )
    return list(session.scalars(query))
