"""FastAPI dependencies: settings, a database session per request, the token's user, the logged-in user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.db.session import get_sessionmaker
from app.core.db.tables import User
from app.users.service import authenticate, banned_reason
from app.web.sessions import current_user


# Dependencies that do no I/O are `async def`: FastAPI runs sync ones in the thread pool, and under load every
# extra hop waits for a free thread behind the requests that hold them all.
async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def get_session(settings: SettingsDep) -> Iterator[Session]:
    session = get_sessionmaker(settings.database_url)()
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


_bearer = HTTPBearer(
    auto_error=False,
    description="An API token from the site's /tokens page (log in first) or `archarena token create NAME`.",
)


def require_user(
    session: SessionDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> User:
    unauthorized = HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail="A valid API token is required: send 'Authorization: Bearer <token>' "
        "(create one on the site's /tokens page after logging in, or with `archarena token create NAME`).",
        headers={"WWW-Authenticate": "Bearer"},
    )
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized
    user = authenticate(session, credentials.credentials.strip())
    if user is None:
        reason = banned_reason(session, credentials.credentials.strip())
        if reason is not None:
            unauthorized.detail = f"This API token was banned by an admin: {reason}"
        raise unauthorized
    session.commit()  # keeps last_used_at
    return user


UserDep = Annotated[User, Depends(require_user)]


def web_user(request: Request, session: SessionDep) -> User | None:
    """The logged-in user of a browser request (a live server-side session), or None."""
    return current_user(request, session)


WebUserDep = Annotated[User | None, Depends(web_user)]
