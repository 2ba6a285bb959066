"""The browser side of accounts: a server-side session behind a random cookie, a double-submit CSRF token, and
the current user.

The session cookie holds a random secret; the database keeps its keyed hash (``web_sessions``), so logging out,
changing the password or a ban ends the session at once, and nothing in the cookie can be forged. Every POST form
carries a hidden `csrf_token` that must equal the `aa_csrf` cookie: another site can make a browser post a form,
but it can neither read nor set our cookie."""

from __future__ import annotations

import hmac
import secrets
from typing import Any, cast

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.db.session import get_sessionmaker
from app.core.db.tables import User
from app.users import service as users
from app.web.templating import error_page, render, templates

SESSION_COOKIE = "aa_session"
CSRF_COOKIE = "aa_csrf"
CSRF_FIELD = "csrf_token"
SESSION_MAX_AGE_S = int(users.SESSION_LIFETIME.total_seconds())
_UNSET = object()


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def current_user(request: Request, session: Session) -> User | None:
    """The logged-in user of this request (a live session, a user not banned), looked up once per request."""
    cached = getattr(request.state, "web_user", _UNSET)
    if cached is None or (cached is not _UNSET and cached in session):
        return cached  # type: ignore[return-value]
    if cached is not _UNSET:  # found through another (short) session, e.g. the rate limit's: this one's copy
        user_id = cast(User, cached).id
        fresh = session.get(User, user_id)
        request.state.web_user = fresh
        return fresh
    cookie = request.cookies.get(SESSION_COOKIE, "")
    user = users.session_user(session, cookie, _settings(request).secret_key) if cookie else None
    if user is not None:
        session.commit()  # keeps last_seen_at
    request.state.web_user = user
    # Plain values for whatever runs after the request's database session is gone (an error page's nav).
    request.state.web_identity = (user.id, user.name) if user is not None else None
    return user


def session_user_id(request: Request) -> int | None:
    """The logged-in user's id, with a short database session of its own (for the rate limit's key)."""
    found = _identity(request)
    return found[0] if found else None


def session_user_name(request: Request) -> str | None:
    """For the nav: who is logged in (None without a session cookie: no database work)."""
    found = _identity(request)
    return found[1] if found else None


def _identity(request: Request) -> tuple[int, str] | None:
    if not request.cookies.get(SESSION_COOKIE):
        return None
    cached = getattr(request.state, "web_identity", _UNSET)
    if cached is _UNSET:
        with get_sessionmaker(_settings(request).database_url)() as session:
            current_user(request, session)
        cached = request.state.web_identity
    return cast(tuple[int, str] | None, cached)


templates.env.globals["session_user_name"] = session_user_name


def _cookie_flags(request: Request) -> dict[str, Any]:
    return {"httponly": True, "samesite": "lax", "secure": _settings(request).mode != "demo", "path": "/"}


def cookie_flags(request: Request) -> dict[str, Any]:
    """The flags every cookie of the site carries (HttpOnly, SameSite=Lax, Secure outside the demo, path /)."""
    return _cookie_flags(request)


def log_in(request: Request, response: Response, session: Session, user: User) -> None:
    """Start a session for ``user`` (the caller commits) and set its cookie, with a fresh CSRF token: one planted
    before the log-in is worthless afterwards."""
    value = users.start_session(session, user, _settings(request).secret_key)
    response.set_cookie(SESSION_COOKIE, value, max_age=SESSION_MAX_AGE_S, **_cookie_flags(request))
    response.set_cookie(CSRF_COOKIE, secrets.token_urlsafe(32), **_cookie_flags(request))


def log_out(request: Request, response: Response, session: Session, *, everywhere: bool = False) -> None:
    """End this browser's session (or, ``everywhere``, every session of its user; the caller commits) and
    delete the cookies."""
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if everywhere:
        user = current_user(request, session)
        if user is not None:
            users.end_all_sessions(session, user)
    users.end_session(session, cookie, _settings(request).secret_key)
    response.delete_cookie(SESSION_COOKIE, **_cookie_flags(request))
    response.delete_cookie(CSRF_COOKIE, **_cookie_flags(request))


def csrf_ok(request: Request, submitted: str) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    return bool(cookie) and bool(submitted) and hmac.compare_digest(cookie.encode(), submitted.encode())


def csrf_refused(request: Request) -> HTMLResponse:
    return error_page(
        request,
        403,
        "This form could not be accepted: its security token is missing or out of date "
        "(cookies may be blocked, or the page is old). Reload the page and send the form again.",
    )


def render_form_page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """Render a page with a POST form: hands the template the CSRF token, setting its cookie when new."""
    token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(request, name, {**context, "csrf_token": token}, status_code)
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(CSRF_COOKIE, token, **_cookie_flags(request))
    return response
