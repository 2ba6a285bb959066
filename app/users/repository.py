"""SQL about users, API tokens and browser sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session, selectinload

from app.core.db.tables import ApiToken, User, WebSession, utcnow
from app.users.names import name_key


def get_user_by_name(session: Session, name: str) -> User | None:
    return session.scalar(select(User).where(User.name == name))


def get_user_by_key(session: Session, key: str) -> User | None:
    """The user whose name has this skeleton (app.users.names.name_key), if any."""
    return session.scalar(select(User).where(User.name_key == key))


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def add_user(session: Session, name: str, *, is_admin: bool = False, password_hash: str | None = None) -> User:
    user = User(name=name, name_key=name_key(name), is_admin=is_admin, password_hash=password_hash)
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


def token_owner(session: Session, token_hash: str) -> int | None:
    """The user id of an active token with this hash (one indexed lookup, no ORM row)."""
    return session.scalar(
        select(ApiToken.user_id).where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
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


def ban_user(session: Session, user: User, reason: str | None) -> int:
    """Ban (reason given) or unban (None) a user. A ban revokes every active token with the reason; returns
    how many tokens it revoked. Unbanning gives no token back (the user makes new ones)."""
    user.banned_at = utcnow() if reason is not None else None
    user.banned_reason = reason
    revoked = 0
    if reason is not None:
        done = session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow(), banned_reason=reason)
            .execution_options(synchronize_session=False)
        )
        revoked = int(getattr(done, "rowcount", 0) or 0)
    session.flush()
    return revoked


def add_web_session(session: Session, user_id: int, secret_hash: str, expires_at: datetime) -> WebSession:
    row = WebSession(user_id=user_id, secret_hash=secret_hash, expires_at=expires_at)
    session.add(row)
    session.flush()
    return row


def prune_web_sessions(session: Session, user_id: int, now: datetime, *, keep: int) -> None:
    """Delete the user's ended and expired sessions, then end all but the ``keep`` most recently seen live ones."""
    session.execute(
        delete(WebSession)
        .where(WebSession.user_id == user_id, or_(WebSession.ended_at.is_not(None), WebSession.expires_at <= now))
        .execution_options(synchronize_session=False)
    )
    newest = (
        select(WebSession.id)
        .where(WebSession.user_id == user_id)
        .order_by(WebSession.last_seen_at.desc(), WebSession.id.desc())
        .limit(keep)
    )
    session.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.id.not_in(newest))
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )


def live_web_session(session: Session, secret_hash: str, now: datetime) -> WebSession | None:
    """The session with this secret if it has not ended or expired, with its user loaded."""
    return session.scalar(
        select(WebSession)
        .where(WebSession.secret_hash == secret_hash, WebSession.ended_at.is_(None), WebSession.expires_at > now)
        .options(selectinload(WebSession.user))
    )


def touch_web_session(session: Session, session_id: int, now: datetime) -> None:
    session.execute(
        update(WebSession)
        .where(WebSession.id == session_id)
        .values(last_seen_at=now)
        .execution_options(synchronize_session=False)
    )


def end_web_session(session: Session, secret_hash: str) -> None:
    session.execute(
        update(WebSession)
        .where(WebSession.secret_hash == secret_hash, WebSession.ended_at.is_(None))
        .values(ended_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def end_user_sessions(session: Session, user_id: int) -> int:
    """End every live session of the user; returns how many."""
    done = session.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
        .values(ended_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(done, "rowcount", 0) or 0)
