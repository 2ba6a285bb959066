"""SQL about users and API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from app.core.db.tables import ApiToken, AuditEvent, Run, RunStatus, Submission, User, utcnow


def get_user_by_name(session: Session, name: str) -> User | None:
    return session.scalar(select(User).where(User.name == name))


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def add_user(session: Session, name: str, *, is_admin: bool = False, password_hash: str | None = None) -> User:
    user = User(name=name, is_admin=is_admin, password_hash=password_hash)
    session.add(user)
    session.flush()
    return user


def add_token(session: Session, user: User, name: str, token_hash: str, prefix: str) -> ApiToken:
    token = ApiToken(user_id=user.id, name=name, token_hash=token_hash, prefix=prefix)
    session.add(token)
    session.flush()
    return token


def active_token_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    return session.scalar(
        select(ApiToken)
        .where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
        .options(selectinload(ApiToken.user))
    )


def banned_reason_of(session: Session, token_hash: str) -> str | None:
    return session.scalar(select(ApiToken.banned_reason).where(ApiToken.token_hash == token_hash))


def touch_token(session: Session, token_id: int) -> None:
    session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id)
        .values(last_used_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def set_password_hash(session: Session, user_id: int, password_hash: str) -> None:
    session.execute(update(User).where(User.id == user_id).values(password_hash=password_hash))


def tokens_of(session: Session, user_id: int) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())))


def revoke_token(session: Session, user_id: int, token_id: int) -> bool:
    """Revoke one of the user's own tokens; False when it is not theirs or already revoked."""
    done = session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(done, "rowcount", 0))


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


def find_same_spec(session: Session, benchmark: str, spec_hash: str, recipe_version: str) -> Submission | None:
    """The oldest submission of this exact spec under this recipe version, by anyone."""
    return session.scalar(
        select(Submission)
        .where(
            Submission.benchmark == benchmark,
            Submission.spec_hash == spec_hash,
            Submission.recipe_version == recipe_version,
        )
        .order_by(Submission.id)
        .limit(1)
    )
