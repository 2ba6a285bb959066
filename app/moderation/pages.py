"""The submission page's owner and admin forms: each POST checks the CSRF token and the logged-in user, calls
the same service as the API, commits, and redirects back to the page. Admins also get the
audit log as a page and as CSV."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from app.core.db.tables import RunStatus, Submission, User
from app.core.errors import Forbidden, InputError, NotFound
from app.entries import repository as entries_repo
from app.entries.views import load_submission
from app.moderation import service
from app.quotas.service import QuotaExceeded
from app.runs.repository import CANCELLED
from app.web import sessions as accounts_web
from app.web.csvout import to_csv
from app.web.deps import SessionDep, WebUserDep
from app.web.params import SubmissionId, form_int
from app.web.templating import error_page, render

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(alias=accounts_web.CSRF_FIELD, max_length=200)]
Reason = Annotated[str, Form(max_length=500)]


def moderation_context(session: Session, submission: Submission, user: User | None) -> dict[str, Any]:
    """What the submission page needs for its history and forms."""
    return {
        "history": [(e, service.describe(e)) for e in service.history(session, submission.id)],
        "can_manage": user is not None and (user.id == submission.user_id or user.is_admin),
        "is_admin": user is not None and user.is_admin,
        "has_failed": any(r.status == RunStatus.FAILED for r in submission.runs),
    }


def _act(
    request: Request,
    session: Session,
    user: User | None,
    csrf: str,
    action: Callable[[User], object],
    back: str,
) -> Response:
    """Check the form, run the action as the logged-in user, commit, go back."""
    if not accounts_web.csrf_ok(request, csrf):
        return accounts_web.csrf_refused(request)
    if user is None:
        return RedirectResponse(f"/login?next={back}", status_code=303)
    try:
        action(user)
    except Forbidden as exc:
        return error_page(request, 403, str(exc))
    except InputError as exc:
        return error_page(request, 422, "; ".join(e["msg"] for e in exc.errors))
    except QuotaExceeded as exc:
        return error_page(request, 429, str(exc))
    except service.NothingToRerun as exc:
        return error_page(request, 409, str(exc))
    session.commit()
    return RedirectResponse(back, status_code=303)


def _required(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise InputError.one(["reason"], "a public reason (1-500 characters) is required")
    return reason


@router.post("/submissions/{submission_id}/{action}", response_model=None)
def moderate(
    submission_id: SubmissionId,
    action: Annotated[str, Path(pattern="^(hide|unhide|flag|unflag|rerun|seeds|delete)$")],
    request: Request,
    session: SessionDep,
    user: WebUserDep,
    csrf: Csrf = "",
    reason: Reason = "",
    all_runs: Annotated[str, Form(alias="all", max_length=8)] = "",
    seeds: Annotated[str, Form(max_length=4)] = "",
) -> Response:
    actions: dict[str, Callable[[User], object]] = {
        "hide": lambda u: service.set_hidden(session, u, submission_id, _required(reason)),
        "unhide": lambda u: service.set_hidden(session, u, submission_id, None, note=reason.strip()),
        "flag": lambda u: service.set_flag(session, u, submission_id, _required(reason)),
        "unflag": lambda u: service.set_flag(session, u, submission_id, None, note=reason.strip()),
        "rerun": lambda u: service.rerun(session, u, submission_id, all_runs=bool(all_runs), reason=reason.strip()),
        "seeds": lambda u: service.add_seeds(session, u, submission_id, _count(seeds), reason=reason.strip()),
        "delete": lambda u: service.delete_submission(session, u, submission_id, reason.strip()),
    }
    back = f"/submissions/{submission_id}/deleted" if action == "delete" else f"/submissions/{submission_id}"
    return _act(request, session, user, csrf, actions[action], back)


@router.get("/submissions/{submission_id}/delete", response_model=None)
def confirm_delete(submission_id: SubmissionId, request: Request, session: SessionDep, user: WebUserDep) -> Response:
    """The step before deleting: what will happen, and a button that does it (a plain form, no script)."""
    if user is None:
        return RedirectResponse(f"/login?next=/submissions/{submission_id}/delete", status_code=303)
    submission = load_submission(session, submission_id)
    if not (user.id == submission.user_id or user.is_admin):
        return error_page(request, 403, "Only its owner or an admin can delete a submission.")
    unfinished = sum(1 for r in submission.runs if r.status in (RunStatus.QUEUED, RunStatus.RUNNING))
    context = {"s": submission, "unfinished": unfinished}
    return accounts_web.render_form_page(request, "confirm_delete.html", context)


@router.get("/submissions/{submission_id}/deleted", response_model=None)
def deleted_page(submission_id: SubmissionId, request: Request, session: SessionDep) -> Response:
    """What a delete did: the entry is off every board, its unfinished runs were cancelled, the record stays."""
    submission = entries_repo.get_submission(session, submission_id)
    if submission is None:
        raise NotFound(f"submission {submission_id}")
    if submission.deleted_at is None:
        return RedirectResponse(f"/submissions/{submission_id}", status_code=303)
    cancelled = sum(1 for r in submission.runs if r.error_kind == CANCELLED)
    return render(request, "deleted.html", {"s": submission, "cancelled": cancelled})


def _count(text: str) -> int:
    return form_int(text, "seeds", 1, 100)


@router.post("/users/{name}/{action}", response_model=None)
def ban_user(
    name: Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$")],
    action: Annotated[str, Path(pattern="^(ban|unban)$")],
    request: Request,
    session: SessionDep,
    user: WebUserDep,
    csrf: Csrf = "",
    reason: Reason = "",
) -> Response:
    """The profile page's admin form: ban (every token and session of the user) or unban."""
    if action == "ban":
        act: Callable[[User], object] = lambda u: service.ban_user(session, u, name, _required(reason))  # noqa: E731
    else:
        act = lambda u: service.ban_user(session, u, name, None, note=reason.strip())  # noqa: E731
    return _act(request, session, user, csrf, act, f"/users/{name}")


AUDIT_PAGE = 100
AUDIT_CSV_MAX = 10_000


@router.get("/audit", response_model=None)
def audit_page(
    request: Request, session: SessionDep, user: WebUserDep, page: Annotated[int, Query(ge=1, le=100_000)] = 1
) -> Response:
    """Every owner/admin action, newest first, a page at a time (admins only)."""
    if user is None:
        return RedirectResponse("/login?next=/audit", status_code=303)
    try:
        events = service.audit_log(session, user, limit=AUDIT_PAGE + 1, offset=(page - 1) * AUDIT_PAGE)
    except Forbidden as exc:
        return error_page(request, 403, str(exc))
    rows = [(e, service.describe(e)) for e in events[:AUDIT_PAGE]]
    return render(request, "audit.html", {"events": rows, "page": page, "more": len(events) > AUDIT_PAGE})


@router.get("/audit.csv", response_model=None)
def audit_csv(request: Request, session: SessionDep, user: WebUserDep) -> Response:
    """The newest 10,000 audit events as CSV (admins only)."""
    if user is None:
        return RedirectResponse("/login", status_code=303)
    try:
        events = service.audit_log(session, user, limit=AUDIT_CSV_MAX, offset=0)
    except Forbidden as exc:
        return error_page(request, 403, str(exc))
    header = ["id", "at", "actor", "action", "target_kind", "target_id", "reason", "summary"]
    rows = (
        [e.id, e.at.isoformat(), e.actor.name if e.actor else "", e.action, e.target_kind, e.target_id, e.reason,
         service.describe(e)]
        for e in events
    )  # fmt: skip
    headers = {"Content-Disposition": 'attachment; filename="archarena-audit.csv"'}
    return Response(to_csv(header, rows), media_type="text/csv; charset=utf-8", headers=headers)
