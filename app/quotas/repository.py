"""SQL of the daily quotas: the ledger of run-seconds a user paid for, and the lock that serialises one user's
charges. No commits here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.core.db.tables import QuotaCharge, Run, User, utcnow


def seconds_used(session: Session, user_id: int, benchmark: str, since: datetime) -> float:
    """Run-seconds the user was charged on a benchmark since ``since``: each charge's settled seconds, or its
    projection while its run has not ended. Every charge counts, whatever became of its submission."""
    used = func.coalesce(QuotaCharge.seconds, QuotaCharge.projected_seconds)
    query = select(func.coalesce(func.sum(used), 0.0)).where(
        QuotaCharge.user_id == user_id, QuotaCharge.benchmark == benchmark, QuotaCharge.at >= since
    )
    return float(session.scalar(query) or 0.0)


def projections(session: Session, run_ids: Sequence[int]) -> dict[int, tuple[int, float | None]]:
    """(submission id, projected seconds) of each run."""
    rows = session.execute(
        select(Run.id, Run.submission_id, Run.projected_seconds).where(Run.id.in_(list(run_ids)))
    ).all()
    return {int(i): (int(s), None if p is None else float(p)) for i, s, p in rows}


def add_charges(
    session: Session, user_id: int, benchmark: str, action: str, charges: Sequence[tuple[int, int, float]]
) -> None:
    """One ledger row per (run id, submission id, projected seconds)."""
    now = utcnow()
    session.add_all(
        QuotaCharge(
            user_id=user_id,
            benchmark=benchmark,
            submission_id=submission_id,
            run_id=run_id,
            action=action,
            at=now,
            projected_seconds=seconds,
        )
        for run_id, submission_id, seconds in charges
    )
    session.flush()


def charges_of(session: Session, user_id: int, benchmark: str, since: datetime) -> list[QuotaCharge]:
    """The user's charges on a benchmark since ``since``, oldest first."""
    return list(
        session.scalars(
            select(QuotaCharge)
            .where(QuotaCharge.user_id == user_id, QuotaCharge.benchmark == benchmark, QuotaCharge.at >= since)
            .order_by(QuotaCharge.id)
        )
    )


def lock_user(session: Session, user_id: int) -> None:
    """Serialise one user's quota check and what it pays for, until the transaction ends: the count and the
    ledger rows happen under the lock, so two simultaneous requests cannot both take the last seconds.
    PostgreSQL locks the user's row FOR NO KEY UPDATE: the runs a request has already inserted hold KEY SHARE
    on it through their foreign keys, which that mode does not wait for (FOR UPDATE would, and two requests
    would deadlock). SQLite has no row locks, so a no-op UPDATE takes the database's write lock (other writers
    wait on busy_timeout)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            update(User).where(User.id == user_id).values(id=User.id).execution_options(synchronize_session=False)
        )
    else:
        session.execute(select(User.id).where(User.id == user_id).with_for_update(key_share=True))
