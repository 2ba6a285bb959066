"""The browser side of accounts: a signed session cookie, a double-submit CSRF token, and the current user.

The session cookie holds the user's id and name, signed with HMAC-SHA256 under Settings.secret_key (no server
state; logging out deletes it). Every POST form carries a hidden `csrf_token` that must equal the `aa_csrf`
cookie: another site can make a browser post a form, but it can neither read nor set our cookie."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from app.core.config import Settings
from app.web.templating import error_page, render, templates

SESSION_COOKIE = "aa_session"
CSRF_COOKIE = "aa_csrf"
CSRF_FIELD = "csrf_token"
SESSION_MAX_AGE_S = 14 * 24 * 3600


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def session_value(secret: str, user_id: int, name: str, now: float | None = None) -> str:
    raw = json.dumps({"uid": user_id, "name": name, "iat": int(now if now is not None else time.time())})
    payload = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")  # no "=": the cookie stays unquoted
    return f"{payload}.{_sign(secret, payload)}"


def read_session(secret: str, value: str | None, now: float | None = None) -> tuple[int, str] | None:
    """(user id, name) from a cookie this server signed and that has not expired; None for anything else."""
    if not value or len(value) > 512 or "." not in value:
        return None
    payload, signature = value.rsplit(".", 1)
    if not hmac.compare_digest(signature, _sign(secret, payload)):
        return None
    try:
        data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        uid, name, issued = int(data["uid"]), str(data["name"]), int(data["iat"])
    except (ValueError, KeyError, TypeError):
        return None
    if (now if now is not None else time.time()) - issued > SESSION_MAX_AGE_S:
        return None
    return uid, name


def session_of(request: Request) -> tuple[int, str] | None:
    return read_session(_settings(request).secret_key, request.cookies.get(SESSION_COOKIE))


def session_user_name(request: Request) -> str | None:
    """For the nav: who is logged in, from the signed cookie alone (no database)."""
    found = session_of(request)
    return found[1] if found else None


templates.env.globals["session_user_name"] = session_user_name


def _cookie_flags(request: Request) -> dict[str, Any]:
    return {"httponly": True, "samesite": "lax", "secure": _settings(request).mode != "demo", "path": "/"}


def log_in(request: Request, response: Response, user_id: int, name: str) -> None:
    value = session_value(_settings(request).secret_key, user_id, name)
    response.set_cookie(SESSION_COOKIE, value, max_age=SESSION_MAX_AGE_S, **_cookie_flags(request))
    # A fresh CSRF token at every log-in: one planted before it is worthless afterwards.
    response.set_cookie(CSRF_COOKIE, secrets.token_urlsafe(32), **_cookie_flags(request))


def log_out(request: Request, response: Response) -> None:
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
