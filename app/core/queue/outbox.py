"""The outbox's SQL. A run to send is a row written in the same transaction as the change that queued it, so a
run is either queued *and* due to be sent, or neither; the relay sends the rows after the commit.

No commits here: callers own the transaction (services through the request boundary, the relay its own)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, event, exists, func, insert, literal, or_, select, text, update
from sqlalchemy.orm import Session

from app.core.db.tables import OutboxMessage, Run, RunStatus, utcnow

_PENDING_KEY = "archarena.outbox_pending"
_after_commit_hooks: list[Callable[[], None]] = []


def enqueue_runs(session: Session, run_ids: Iterable[int]) -> None:
    """Mark runs to be sent, in the caller's transaction. After the commit, this process's relays are woken."""
    rows = [OutboxMessage(run_id=run_id) for run_id in run_ids]
    if rows:
        session.add_all(rows)
        session.info[_PENDING_KEY] = True


def on_commit_with_outbox(hook: Callable[[], None]) -> Callable[[], None]:
    """Call ``hook`` after every commit that wrote outbox rows (a relay wakes up instead of waiting for its next
    tick). Returns a function that removes the hook."""
    _after_commit_hooks.append(hook)
    return lambda: _after_commit_hooks.remove(hook) if hook in _after_commit_hooks else None


@event.listens_for(Session, "after_commit")
def _wake_relays(session: Session) -> None:
    if session.info.pop(_PENDING_KEY, False):
        for hook in list(_after_commit_hooks):
            hook()


@event.listens_for(Session, "after_rollback")
def _forget_pending(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


def claim_batch(session: Session, relay: str, now: datetime, lease_s: float, limit: int) -> list[tuple[int, int]]:
    """Lease up to ``limit`` unsent rows to ``relay`` (a guarded UPDATE: rows another relay holds are skipped);
    returns their (row id, run id) pairs, oldest first."""
    free = and_(
        OutboxMessage.sent_at.is_(None),
        or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
    )
    ids = list(session.scalars(select(OutboxMessage.id).where(free).order_by(OutboxMessage.id).limit(limit)))
    if not ids:
        return []
    until = now + timedelta(seconds=lease_s)
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), free)  # the guard: a row leased meanwhile by another relay stays theirs
        .values(claimed_by=relay, claimed_until=until)
        .execution_options(synchronize_session=False)
    )
    mine = select(OutboxMessage.id, OutboxMessage.run_id).where(
        OutboxMessage.id.in_(ids), OutboxMessage.claimed_by == relay, OutboxMessage.claimed_until == until
    )
    return [(int(row_id), int(run_id)) for row_id, run_id in session.execute(mine.order_by(OutboxMessage.id))]


def mark_sent(session: Session, row_ids: list[int], relay: str, now: datetime) -> None:
    if row_ids:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(row_ids), OutboxMessage.claimed_by == relay)
            .values(sent_at=now, claimed_until=None)
            .execution_options(synchronize_session=False)
        )


def release(session: Session, row_ids: list[int], relay: str, error: str) -> None:
    """Give rows back after a failed send: the next pass (of any relay) tries them again."""
    if row_ids:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(row_ids), OutboxMessage.claimed_by == relay)
            .values(claimed_until=None, attempts=OutboxMessage.attempts + 1, last_error=error[:500])
            .execution_options(synchronize_session=False)
        )


def _recently_sent_or_pending(cutoff: datetime) -> Any:
    return exists().where(
        OutboxMessage.run_id == Run.id, or_(OutboxMessage.sent_at.is_(None), OutboxMessage.sent_at > cutoff)
    )


def unconfirmed_queued_runs(session: Session, cutoff: datetime, limit: int) -> list[int]:
    """Queued runs with no unsent outbox row and no send after ``cutoff``: their message should be in the
    broker by now. The relay checks which of them really are."""
    query = (
        select(Run.id)
        .where(Run.status == RunStatus.QUEUED, Run.queued_at < cutoff, ~_recently_sent_or_pending(cutoff))
        .order_by(Run.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def resend(session: Session, run_ids: list[int], cutoff: datetime) -> int:
    """New outbox rows for runs whose message was lost; one statement each, guarded so that two relays that
    found the same lost run at once add one row, not two (on PostgreSQL the caller also holds the sweep lock)."""
    added = 0
    now = utcnow()
    for run_id in run_ids:
        guard = ~exists().where(
            OutboxMessage.run_id == run_id,
            or_(OutboxMessage.sent_at.is_(None), OutboxMessage.sent_at > cutoff),
        )
        still_queued = exists().where(Run.id == run_id, Run.status == RunStatus.QUEUED)
        source = select(literal(run_id), literal(now), literal(0)).where(guard, still_queued)
        result = session.execute(insert(OutboxMessage).from_select(["run_id", "created_at", "attempts"], source))
        added += int(getattr(result, "rowcount", 0) or 0)
    if added:
        session.info[_PENDING_KEY] = True
    return added


def try_sweep_lock(session: Session) -> bool:
    """One sweeper at a time on PostgreSQL (a transaction-scoped advisory lock); SQLite serialises writers, and
    ``resend``'s guarded single-statement inserts need nothing more."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(727274)")))


def pending_count(session: Session) -> int:
    return int(session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.sent_at.is_(None))) or 0)


def rows_for(session: Session, run_id: int) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.run_id == run_id).order_by(OutboxMessage.id)))


def prune_sent(session: Session, older_than: datetime) -> None:
    """Sent rows are history once their run has moved on; keep a day of them for diagnosis."""
    session.execute(delete(OutboxMessage).where(OutboxMessage.sent_at < older_than))


def utc_cutoff(seconds: float) -> datetime:
    return utcnow() - timedelta(seconds=seconds)
