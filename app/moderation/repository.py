"""All SQL of moderation: the audit log, deleting a submission, banned tokens.
No commits here: the request boundary commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.core.db.tables import ApiToken, AuditEvent, Submission, utcnow


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


def delete_submission(session: Session, submission: Submission) -> None:
    session.delete(submission)
    session.flush()
