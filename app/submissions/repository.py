"""SQL of creating submissions: a new one with its runs, the duplicate lookup and the lock that makes it race-proof.
No commits here: the request or task boundary commits."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, select, text, update
from sqlalchemy.orm import Session, selectinload

from app.core.db.tables import AuditEvent, Submission, User, dedup_key
from app.runs import repository as runs_repo

__all__ = ["dedup_key"]  # re-exported: the one key of an experiment, defined beside its column


def add_submission(session: Session, submission: Submission, seeds: Sequence[int]) -> Submission:
    """The submission and a queued run per seed (each with its outbox row: sent after the commit)."""
    runs_repo.attach_new_runs(session, submission, seeds)
    return submission


def lock_experiment(session: Session, key: str) -> None:
    """Serialise every submission of one experiment until the transaction ends, so that the duplicate lookup
    that follows sees any entry a concurrent request created (and the unique ``dedup_key`` refuses a second one
    should anything slip past). PostgreSQL: a transaction-scoped advisory lock on the key. SQLite: the
    database's one write lock, taken now (a no-op UPDATE) rather than at the INSERT."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            update(User).where(User.id == -1).values(id=User.id).execution_options(synchronize_session=False)
        )
    else:
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": int(key[:15], 16)})


def find_same_spec(session: Session, benchmark: str, spec_hash: str, recipe_version: str) -> Submission | None:
    """The oldest live entry of this exact spec under this recipe version, by anyone. Hidden and deleted
    entries do not count: an admin's hide must not block an architecture for everyone."""
    return _oldest_live(session, benchmark, recipe_version, Submission.spec_hash == spec_hash)


def find_same_function(session: Session, benchmark: str, fingerprint: str, recipe_version: str) -> Submission | None:
    """The oldest live entry that computes the same function under this recipe version (``app.zoo.identity``:
    a spec that differs only in fields its model ignores is the same experiment), as for the same spec."""
    return _oldest_live(session, benchmark, recipe_version, Submission.fingerprint == fingerprint)


def _oldest_live(session: Session, benchmark: str, recipe_version: str, same: ColumnElement[bool]) -> Submission | None:
    return session.scalar(
        select(Submission)
        .where(
            same,
            Submission.benchmark == benchmark,
            Submission.recipe_version == recipe_version,
            Submission.deleted_at.is_(None),
            Submission.hidden_reason.is_(None),
        )
        .options(selectinload(Submission.user), selectinload(Submission.runs))
        .order_by(Submission.id)
        .limit(1)
    )


def without_lineage(session: Session) -> list[Submission]:
    return list(session.scalars(select(Submission).where(Submission.lineage_key.is_(None)).order_by(Submission.id)))


def has_joined(session: Session, submission_id: int, user_id: int) -> bool:
    """Whether the user already joined this entry as a duplicate (one audit event per user and entry)."""
    found = session.scalar(
        select(AuditEvent.id)
        .where(
            AuditEvent.target_kind == "submission",
            AuditEvent.target_id == submission_id,
            AuditEvent.actor_id == user_id,
            AuditEvent.action == "join",
        )
        .limit(1)
    )
    return found is not None


def find_by_id(session: Session, submission_id: int) -> Submission:
    """A submission with its user and runs (it exists: the caller just locked or changed it)."""
    found = session.scalar(
        select(Submission)
        .where(Submission.id == submission_id)
        .options(selectinload(Submission.user), selectinload(Submission.runs))
    )
    assert found is not None
    return found
