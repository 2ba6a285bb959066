"""All SQL of moderation: the audit log, deleting a submission (softly) and cancelling its runs, banned tokens.
No commits here: the request boundary commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from app.core.db.tables import ApiToken, AuditEvent, Run, RunStatus, Submission, User, utcnow
from app.runs.repository import CANCELLED


def add_event(
    session: Session,
    *,
    actor_id: int | None,
    action: str,
    target_kind: str,
    target_id: int,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        actor_id=actor_id,
        action=action,
        target_kind=target_kind,
        target_id=target_id,
        reason=reason,
        details=details or {},
        at=utcnow(),
    )
    session.add(event)
    session.flush()
    return event


def events(
    session: Session,
    *,
    target_kind: str | None = None,
    target_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
    newest_first: bool = True,
) -> list[AuditEvent]:
    query = select(AuditEvent).options(selectinload(AuditEvent.actor))
    if target_kind is not None:
        query = query.where(AuditEvent.target_kind == target_kind)
    if target_id is not None:
        query = query.where(AuditEvent.target_id == target_id)
    order = (AuditEvent.at.desc(), AuditEvent.id.desc()) if newest_first else (AuditEvent.at, AuditEvent.id)
    return list(session.scalars(query.order_by(*order).limit(limit).offset(offset)))


def get_token(session: Session, token_id: int) -> ApiToken | None:
    return session.scalar(select(ApiToken).where(ApiToken.id == token_id).options(selectinload(ApiToken.user)))


def ban_token(session: Session, token: ApiToken, reason: str) -> None:
    token.revoked_at = token.revoked_at or utcnow()
    token.banned_reason = reason
    session.flush()


def soft_delete(session: Session, submission: Submission, actor_id: int, reason: str) -> None:
    """Take the entry off every board and list: its row, runs and audit history stay (lineage counts them), and
    its key is freed so the same spec can be submitted again."""
    submission.deleted_at = utcnow()
    submission.deleted_by_id = actor_id
    submission.deleted_reason = reason
    submission.dedup_key = None
    session.flush()


def cancel_runs(session: Session, submission_id: int, message: str) -> int:
    """Fail the submission's queued and running runs as 'cancelled': no worker claims a queued one, and a worker
    training one finds it no longer its own at its next epoch or heartbeat, and stops. Returns how many."""
    done = session.execute(
        update(Run)
        .where(Run.submission_id == submission_id, Run.status.in_((RunStatus.QUEUED, RunStatus.RUNNING)))
        .values(status=RunStatus.FAILED, error_kind=CANCELLED, error_message=message, finished_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(done, "rowcount", 0) or 0)


def others_in(session: Session, submission: Submission) -> list[str]:
    """Names of the users other than its owner who joined the entry with an identical submission or added seeds
    to it: it is theirs too."""
    query = (
        select(User.name)
        .join(AuditEvent, AuditEvent.actor_id == User.id)
        .where(
            AuditEvent.target_kind == "submission",
            AuditEvent.target_id == submission.id,
            AuditEvent.action.in_(("join", "add_seeds")),
            AuditEvent.actor_id != submission.user_id,
        )
        .distinct()
        .order_by(User.name)
    )
    return list(session.scalars(query))


def restore_dedup_key(session: Session, submission: Submission, key: str) -> None:
    """Give an entry that comes back (unhidden) its experiment's key, unless another live entry holds it now."""
    taken = session.scalar(select(Submission.id).where(Submission.dedup_key == key))
    if taken is None:
        submission.dedup_key = key
        session.flush()


def get_user_by_name(session: Session, name: str) -> User | None:
    return session.scalar(select(User).where(User.name == name))
