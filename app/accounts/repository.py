"""SQL about users and API tokens."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from app.db.tables import ApiToken, User, utcnow


def get_user_by_name(session: Session, name: str) -> User | None:
    return session.scalar(select(User).where(User.name == name))


def add_user(session: Session, name: str, *, is_admin: bool = False) -> User:
    user = User(name=name, is_admin=is_admin)
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


def touch_token(session: Session, token_id: int) -> None:
    session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id)
        .values(last_used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
