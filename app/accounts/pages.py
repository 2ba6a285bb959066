"""Sign-up, log-in, log-out, a user's profile, and their API tokens. Every POST form checks the CSRF token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.core.db.tables import User
from app.core.errors import NotFound
from app.entries import repository as entries_repo
from app.users import service
from app.web import sessions as accounts_web
from app.web.deps import SessionDep, WebUserDep
from app.web.params import TokenId
from app.web.ratelimit import rate_limited
from app.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(rate_limited)])
Csrf = Annotated[str, Form(alias=accounts_web.CSRF_FIELD, max_length=200)]
Name = Annotated[str, Form(max_length=64)]
Password = Annotated[str, Form(max_length=1024)]


def _to(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/signup", response_class=HTMLResponse)
def signup_form(request: Request) -> HTMLResponse:
    return accounts_web.render_form_page(request, "signup.html", {"name": "", "error": None})


@router.post("/signup", response_model=None)
def signup(request: Request, session: SessionDep, name: Name, password: Password, csrf: Csrf = "") -> Response:
    if not accounts_web.csrf_ok(request, csrf):
        return accounts_web.csrf_refused(request)
    try:
        user = service.sign_up(session, name.strip(), password)
    except service.SignupError as exc:
        return accounts_web.render_form_page(request, "signup.html", {"name": name, "error": str(exc)}, 422)
    session.commit()
    response = _to(f"/users/{user.name}")
    accounts_web.log_in(request, response, user.id, user.name)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    return accounts_web.render_form_page(request, "login.html", {"name": "", "error": None})


@router.post("/login", response_model=None)
def login(request: Request, session: SessionDep, name: Name, password: Password, csrf: Csrf = "") -> Response:
    if not accounts_web.csrf_ok(request, csrf):
        return accounts_web.csrf_refused(request)
    user = service.log_in(session, name.strip(), password)
    if user is None:
        context = {"name": name, "error": "unknown user name or wrong password"}
        return accounts_web.render_form_page(request, "login.html", context, 401)
    session.commit()  # a re-hashed password, if the parameters changed
    response = _to("/submit")
    accounts_web.log_in(request, response, user.id, user.name)
    return response


@router.post("/logout", response_model=None)
def logout(request: Request, csrf: Csrf = "") -> Response:
    if not accounts_web.csrf_ok(request, csrf):
        return accounts_web.csrf_refused(request)
    response = _to("/")
    accounts_web.log_out(request, response)
    return response


@router.get("/users/{name}", response_class=HTMLResponse)
def profile(name: Annotated[str, Path(max_length=64)], request: Request, session: SessionDep) -> HTMLResponse:
    user = service.get_user_by_name(session, name)
    if user is None:
        raise NotFound(f"user {name}")
    found = entries_repo.list_submissions(session, user=user.name, limit=500)
    return render(request, "profile.html", {"user": user, "submissions": found})


@router.get("/tokens", response_model=None)
def tokens_page(request: Request, session: SessionDep, user: WebUserDep) -> Response:
    if user is None:
        return _to("/login")
    return _tokens(request, session, user, created=None)


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
        return _to("/login")
    token = service.create_token(session, user.name, name.strip() or "default")
    session.commit()
    return _tokens(request, session, user, created=token, status_code=201)


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
        return _to("/login")
    service.revoke_token(session, user, token_id)
    session.commit()
    return _to("/tokens")


def _tokens(
    request: Request, session: SessionDep, user: User, *, created: str | None, status_code: int = 200
) -> HTMLResponse:
    context = {"user": user, "tokens": service.list_tokens(session, user), "created": created}
    return accounts_web.render_form_page(request, "tokens.html", context, status_code)
