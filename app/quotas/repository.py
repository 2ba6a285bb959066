"""SQL of the daily quotas: what a user was charged for since a moment, and the lock that serialises one user's
charges. No commits here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from app.core.db.tables import AuditEvent, Run, RunStatus, Submission, User


def count_charged_submissions(
    session: Session, user_id: int, benchmark: str, since: datetime, refunded_kinds: tuple[str, ...]
) -> int:
    """The user's submissions on a benchmark since `since`, less those whose runs all failed for one of
    `refunded_kinds` (infrastructure failures are not the submitter's fault)."""
    charged_run = exists().where(
        Run.submission_id == Submission.id,
        or_(Run.status != RunStatus.FAILED, Run.error_kind.is_(None), Run.error_kind.not_in(refunded_kinds)),
    )
    no_runs = ~exists().where(Run.submission_id == Submission.id)
    query = select(func.count(Submission.id)).where(
        and_(Submission.user_id == user_id, Submission.benchmark == benchmark, Submission.created_at >= since),
        or_(charged_run, no_runs),
    )
    return int(session.scalar(query) or 0)


def count_charged_actions(session: Session, user_id: int, benchmark: str, since: datetime) -> int:
    """The user's re-runs and added seeds on a benchmark since `since` that spent quota (the audit event says
    so in ``details["quota"]``)."""
    query = (
        select(func.count(AuditEvent.id))
        .join(Submission, and_(AuditEvent.target_kind == "submission", AuditEvent.target_id == Submission.id))
        .where(
            AuditEvent.actor_id == user_id,
            AuditEvent.at >= since,
            Submission.benchmark == benchmark,
            AuditEvent.details["quota"].as_boolean(),
        )
    )
    return int(session.scalar(query) or 0)


def lock_user(session: Session, user_id: int) -> None:
    """Serialise one user's quota check and what it pays for, until the transaction ends: the count and the
    insert happen under the lock, so two simultaneous requests cannot both take the last slot. PostgreSQL
    locks the user's row (SELECT ... FOR UPDATE); SQLite has no row locks, so a no-op UPDATE takes the
    database's write lock now (other writers wait on busy_timeout) instead of at the later INSERT."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            update(User).where(User.id == user_id).values(id=User.id).execution_options(synchronize_session=False)
        )
    else:
        session.execute(select(User.id).where(User.id == user_id).with_for_update())
