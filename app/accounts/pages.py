"""Sign-up, log-in, log-out, a password change, a user's profile, and their API tokens. Every POST form checks the
CSRF token; sign-up and log-in are throttled per address and (log-in) per name, with a growing wait after
repeated failures."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.core.db.tables import User
from app.core.errors import NotFound
from app.entries import repository as entries_repo
from app.users import service
from app.web import sessions as accounts_web
from app.web.deps import SessionDep, WebUserDep
from app.web.params import TokenId
from app.web.ratelimit import check_auth_attempt, record_login, record_signup

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(alias=accounts_web.CSRF_FIELD, max_length=200)]
Name = Annotated[str, Form(max_length=64)]
Password = Annotated[str, Form(max_length=1024)]


NEW_TOKEN_COOKIE = "aa_new_token"
NEW_TOKEN_MAX_AGE_S = 120
Next = Annotated[str, Form(alias="next", max_length=512)]


def _to(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def safe_next(target: str, default: str = "/submit") -> str:
    """Where to go after logging in: a path on this site only (``/studies/3?x=1``); anything that could leave
    it (``//evil.example``, ``https://…``, ``/\\evil``, control characters) gives ``default``."""
    if not target.startswith("/") or target.startswith(("//", "/\\")) or len(target) > 512:
        return default
    if any(ord(c) < 32 or c in "\\\x7f" for c in target):
        return default
    return target


def _login_url(request: Request) -> str:
    """The log-in page, coming back to this page afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?next={quote(safe_next(here), safe='/')}"


@router.get("/signup", response_class=HTMLResponse)
def signup_form(request: Request, next_: Annotated[str, Query(alias="next", max_length=512)] = "") -> HTMLResponse:
    context = {"name": "", "error": None, "next": safe_next(next_, "")}
    return accounts_web.render_form_page(request, "signup.html", context)


@router.post("/signup", response_model=None)
def signup(
    request: Request, session: SessionDep, name: Name, password: Password, csrf: Csrf = "", next_: Next = ""
) -> Response:
    if not accounts_web.csrf_ok(request, csrf):
        return accounts_web.csrf_refused(request)
    check_auth_attempt(request, "signup", name)
    try:
        user = service.sign_up(session, name.strip(), password)
    except service.SignupError as exc:
        context = {"name": name, "error": str(exc), "next": safe_next(next_, "")}
        return accounts_web.render_form_page(request, "signup.html", context, 422)
    response = _to(safe_next(next_, f"/users/{user.name}"))
    accounts_web.log_in(request, response, session, user)
    session.commit()
    record_signup(request)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next_: Annotated[str, Query(alias="next", max_length=512)] = "") -> HTMLResponse:
    context = {"name": "", "error": None, "next": safe_next(next_, "")}
    return accounts_web.render_form_page(request, "login.html", context)


@router.post("/login", response_model=None)
def login(
    request: Request, session: SessionDep, name: Name, password: Password, csrf: Csrf = "", next_: Next = ""
) -> Response:
    """Log in, then back to the page the log-in link came from (``next``: a path on this site only)."""
    if not accounts_web.csrf_ok(request, csrf):
        return accounts_web.csrf_refused(request)
    check_auth_attempt(request, "login", name.strip())
    user = service.log_in(session, name.strip(), password)
    record_login(request, name.strip(), ok=user is not None)
    if user is None:
        context = {"name": name, "error": "unknown user name or wrong password", "next": safe_next(next_, "")}
        return accounts_web.render_form_page(request, "login.html", context, 401)
    if user.banned_at is not None:
        error = f"this account was banned by an admin: {user.banned_reason}"
        return accounts_web.render_form_page(request, "login.html", {"name": name, "error": error, "next": ""}, 403)
    response = _to(safe_next(next_))
    accounts_web.log_in(request, response, session, user)
    session.commit()  # the session (and a re-hashed password, if the parameters changed)
    return response


@router.post("/logout", response_model=None)
def logout(
    request: Request,
    session: SessionDep,
    csrf: Csrf = "",
    everywhere: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """End this browser's session (``everywhere``: every session of the user, on every device)."""
    if not accounts_web.csrf_ok(request, csrf):
        return accounts_web.csrf_refused(request)
    response = _to("/")
    accounts_web.log_out(request, response, session, everywhere=bool(everywhere))
    session.commit()
    return response


@router.post("/password", response_model=None)
def change_password(
    request: Request,
    session: SessionDep,
    user: WebUserDep,
    current: Password,
    new: Password,
    csrf: Csrf = "",
) -> Response:
    """A new password; every session of the user ends, and this browser gets a fresh one."""
    if not accounts_web.csrf_ok(request, csrf):
        return accounts_web.csrf_refused(request)
    if user is None:
        return _to("/login?next=/tokens")
    check_auth_attempt(request, "login", user.name)
    try:
        service.change_password(session, user, current, new)
    except (service.WrongPassword, service.SignupError) as exc:
        record_login(request, user.name, ok=not isinstance(exc, service.WrongPassword))
        return _tokens(request, session, user, created=None, status_code=422, password_error=str(exc))
    response = _to("/tokens?password=changed")
    accounts_web.log_in(request, response, session, user)
    session.commit()
    return response


@router.get("/users/{name}", response_class=HTMLResponse)
def profile(
    name: Annotated[str, Path(max_length=64)], request: Request, session: SessionDep, viewer: WebUserDep
) -> HTMLResponse:
    """A user's entries (hidden ones marked, deleted ones gone); an admin also gets the ban form."""
    user = service.get_user_by_name(session, name)
    if user is None:
        raise NotFound(f"user {name}")
    found = entries_repo.list_submissions(session, user=user.name, limit=500, include_hidden=True)
    context = {"user": user, "submissions": found, "is_admin": viewer is not None and viewer.is_admin}
    return accounts_web.render_form_page(request, "profile.html", context)


@router.get("/tokens", response_model=None)
def tokens_page(
    request: Request,
    session: SessionDep,
    user: WebUserDep,
    password: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    if user is None:
        return _to(_login_url(request))
    created = request.cookies.get(NEW_TOKEN_COOKIE) or None  # shown once: the cookie goes with this answer
    page = _tokens(request, session, user, created=created, password_changed=password == "changed")
    if created:
        page.delete_cookie(NEW_TOKEN_COOKIE, path="/tokens")
    return page


@router.post("/tokens", response_model=None)
def create_token(
    request: Request,
    session: SessionDep,
    user: WebUserDep,
    name: Annotated[str, Form(min_length=1, max_length=64)],
    csrf: Csrf = "",
) -> Response:
    if not accounts_web.csrf_ok(request, csrf):
        return accounts_web.csrf_refused(request)
    if user is None:
        return _to("/login?next=/tokens")
    token = service.create_token(session, user.name, name.strip() or "default")
    session.commit()
    response = _to("/tokens")  # post-redirect-get: reloading the page shows it, never makes another token
    flags = {**accounts_web.cookie_flags(request), "path": "/tokens", "samesite": "strict"}
    response.set_cookie(NEW_TOKEN_COOKIE, token, max_age=NEW_TOKEN_MAX_AGE_S, **flags)
    return response


@router.post("/tokens/{token_id}/revoke", response_model=None)
def revoke_token(
    request: Request,
    session: SessionDep,
    user: WebUserDep,
    token_id: TokenId,
    csrf: Csrf = "",
) -> Response:
    if not accounts_web.csrf_ok(request, csrf):
        return accounts_web.csrf_refused(request)
    if user is None:
        return _to("/login?next=/tokens")
    service.revoke_token(session, user, token_id)
    session.commit()
    return _to("/tokens")


def _tokens(
    request: Request,
    session: SessionDep,
    user: User,
    *,
    created: str | None,
    status_code: int = 200,
    password_error: str | None = None,
    password_changed: bool = False,
) -> HTMLResponse:
    context = {
        "user": user,
        "tokens": service.list_tokens(session, user),
        "created": created,
        "password_error": password_error,
        "password_changed": password_changed,
        "api_base": str(request.base_url).rstrip("/"),
    }
    return accounts_web.render_form_page(request, "tokens.html", context, status_code)
