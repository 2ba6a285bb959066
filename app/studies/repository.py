"""All SQL about studies. No commits here: the request boundary commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from app.core.db.tables import EpochMetric, Study, Submission


def add_study(session: Session, study: Study) -> Study:
    session.add(study)
    session.flush()
    return study


def get_study(session: Session, study_id: int) -> Study | None:
    return session.scalar(select(Study).where(Study.id == study_id).options(selectinload(Study.user)))


def list_studies(session: Session, *, limit: int = 100, offset: int = 0) -> list[Study]:
    query = select(Study).options(selectinload(Study.user)).order_by(Study.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(query))


def study_submissions(session: Session, study_ids: list[int]) -> list[Submission]:
    query = (
        select(Submission)
        .where(Submission.study_id.in_(study_ids))
        .options(selectinload(Submission.user), selectinload(Submission.runs))
        .order_by(Submission.id)
    )
    return list(session.scalars(query))


def study_by_name(session: Session, user_id: int, name: str) -> Study | None:
    return session.scalar(select(Study).where(Study.user_id == user_id, Study.name == name))


def val_curves(session: Session, run_ids: list[int]) -> list[tuple[int, int, float]]:
    """(run id, epoch, val accuracy) of the given runs, in epoch order."""
    if not run_ids:
        return []
    query = (
        select(EpochMetric.run_id, EpochMetric.epoch, EpochMetric.val_acc)
        .where(EpochMetric.run_id.in_(run_ids))
        .order_by(EpochMetric.run_id, EpochMetric.epoch)
    )
    return [(int(r), int(e), float(v)) for r, e, v in session.execute(query)]


def store_freeze(session: Session, study_id: int, frozen: dict[str, Any]) -> None:
    """Fix a study's parameters once, in a transaction of its own (a study is read by GETs that never commit);
    a study already fixed keeps what it had."""
    with Session(bind=session.get_bind()) as own, own.begin():
        own.execute(
            update(Study)
            .where(Study.id == study_id, Study.frozen.is_(None))
            .values(frozen=frozen)
            .execution_options(synchronize_session=False)
        )
