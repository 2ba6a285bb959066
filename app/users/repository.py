"""SQL about users and API tokens."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from app.core.db.tables import ApiToken, User, utcnow


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
