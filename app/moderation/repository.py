"""All SQL of moderation: the audit log, moderation fields, re-queued and added runs, banned tokens.
No commits here: the request boundary commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, selectinload

from app.core.db.tables import ApiToken, AuditEvent, EpochMetric, Run, RunStatus, utcnow

# Every per-run field a training attempt writes: a re-queued run starts from nothing, as a new one does.
_FRESH_RUN: dict[str, Any] = {
    "status": RunStatus.QUEUED,
    "attempts": 0,
    "device": None,
    "worker": None,
    "started_at": None,
    "finished_at": None,
    "heartbeat_at": None,
    "epochs_total": None,
    "epochs_done": 0,
    **{f"{split}_{metric}": None for split in ("train", "val", "test", "test2") for metric in ("loss", "acc")},
    "test2_texture_acc": None,
    "wall_seconds": None,
    "images_per_second": None,
    "error_kind": None,
    "error_message": None,
    "recipe_version": None,
    "code_version": None,
    "torch_version": None,
}


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


def requeue_runs(session: Session, run_ids: Sequence[int]) -> list[int]:
    """Put finished or failed runs back in the queue as if new: attempts, errors, results and epoch history
    are cleared. Guarded on status, so a run that is queued or running is left alone."""
    if not run_ids:
        return []
    done = list(
        session.scalars(select(Run.id).where(Run.id.in_(run_ids), Run.status.in_(RunStatus.DONE)).with_for_update())
    )
    if done:
        session.execute(delete(EpochMetric).where(EpochMetric.run_id.in_(done)))
        session.execute(
            update(Run)
            .where(Run.id.in_(done), Run.status.in_(RunStatus.DONE))
            .values(**_FRESH_RUN, queued_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return done


def get_token(session: Session, token_id: int) -> ApiToken | None:
    return session.scalar(select(ApiToken).where(ApiToken.id == token_id).options(selectinload(ApiToken.user)))


def ban_token(session: Session, token: ApiToken, reason: str) -> None:
    token.revoked_at = token.revoked_at or utcnow()
    token.banned_reason = reason
    session.flush()
