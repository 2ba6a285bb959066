"""JSON API of owner and admin actions. Thin: parse, call the service, commit (the relay sends re-queued runs)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from app.core.db.tables import AuditEvent
from app.core.errors import AUTH_RESPONSES, ERROR_RESPONSES, NOT_FOUND, MessageOut
from app.entries.schemas import SubmissionOut
from app.entries.views import get_submission_out
from app.moderation import service
from app.moderation.schemas import AuditEventOut, ReasonIn, RerunIn, SeedsIn, TokenBanOut, UserBanOut
from app.quotas.service import QUOTA_HEADERS_DOC
from app.web.deps import SessionDep, UserDep
from app.web.params import SubmissionId, TokenId
from app.web.ratelimit import RATE_LIMIT_RESPONSES

router = APIRouter(prefix="/api/v1", tags=["moderation"])
UserName = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="A user's name.")]
CONFLICT: dict[int | str, dict[str, object]] = {
    409: {"model": MessageOut, "description": "Not in a state this action applies to (the message says why)."}
}
ACTION_RESPONSES = {**ERROR_RESPONSES, **AUTH_RESPONSES, **NOT_FOUND, **RATE_LIMIT_RESPONSES}
REQUEUE_RESPONSES: dict[int | str, dict[str, object]] = {
    **ACTION_RESPONSES,
    200: {
        "description": "Queued. When the owner's action spent a daily submission, the `X-Quota-*` headers count it.",
        "headers": QUOTA_HEADERS_DOC,
    },
    409: {"model": MessageOut, "description": "No run is in a state this re-run applies to."},
    429: {
        "model": MessageOut,
        "description": "The owner's daily quota for this benchmark is used up (or too many requests); see Retry-After.",
        "headers": {
            **QUOTA_HEADERS_DOC,
            "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}},
        },
    },
}


def _out(session: SessionDep, submission_id: int) -> SubmissionOut:
    return get_submission_out(session, submission_id)


@router.post("/submissions/{submission_id}/hide", responses=ACTION_RESPONSES)
def hide(submission_id: SubmissionId, body: ReasonIn, user: UserDep, session: SessionDep) -> SubmissionOut:
    """Admin only: take the entry off every board (its page stays, showing the reason)."""
    service.set_hidden(session, user, submission_id, body.reason)
    session.commit()
    return _out(session, submission_id)


@router.post("/submissions/{submission_id}/unhide", responses=ACTION_RESPONSES)
def unhide(submission_id: SubmissionId, body: ReasonIn, user: UserDep, session: SessionDep) -> SubmissionOut:
    """Admin only: put a hidden entry back on the boards."""
    service.set_hidden(session, user, submission_id, None, note=body.reason)
    session.commit()
    return _out(session, submission_id)


@router.post("/submissions/{submission_id}/flag", responses=ACTION_RESPONSES)
def flag(submission_id: SubmissionId, body: ReasonIn, user: UserDep, session: SessionDep) -> SubmissionOut:
    """Admin only: keep the entry on the boards with a public warning (e.g. 'trained on the test set?')."""
    service.set_flag(session, user, submission_id, body.reason)
    session.commit()
    return _out(session, submission_id)


@router.post("/submissions/{submission_id}/unflag", responses=ACTION_RESPONSES)
def unflag(submission_id: SubmissionId, body: ReasonIn, user: UserDep, session: SessionDep) -> SubmissionOut:
    """Admin only: remove the flag."""
    service.set_flag(session, user, submission_id, None, note=body.reason)
    session.commit()
    return _out(session, submission_id)


def _requeued(session: SessionDep, response: Response, outcome: service.Requeued) -> SubmissionOut:
    session.commit()
    if outcome.quota is not None:
        response.headers.update(outcome.quota.headers())
    return _out(session, outcome.submission.id)


@router.post("/submissions/{submission_id}/rerun", responses=REQUEUE_RESPONSES)
def rerun(
    submission_id: SubmissionId, body: RerunIn, user: UserDep, session: SessionDep, response: Response
) -> SubmissionOut:
    """Owner or admin: re-queue the failed runs (`all`: every finished or failed run) from scratch. An owner's
    re-run spends one daily submission unless every run failed for infrastructure reasons; an admin's is free."""
    outcome = service.rerun(session, user, submission_id, all_runs=body.all_runs, reason=body.reason)
    return _requeued(session, response, outcome)


@router.post("/submissions/{submission_id}/seeds", responses=REQUEUE_RESPONSES)
def add_seeds(
    submission_id: SubmissionId, body: SeedsIn, user: UserDep, session: SessionDep, response: Response
) -> SubmissionOut:
    """Owner or admin: add runs with the next seed numbers, up to the benchmark's `max_seeds` (422 names the
    cap). An owner's spends one daily submission; an admin's is free."""
    outcome = service.add_seeds(session, user, submission_id, body.seeds, reason=body.reason)
    return _requeued(session, response, outcome)


@router.delete(
    "/submissions/{submission_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**AUTH_RESPONSES, **NOT_FOUND, **ERROR_RESPONSES, **RATE_LIMIT_RESPONSES, **CONFLICT},
)
def delete_submission(
    submission_id: SubmissionId,
    user: UserDep,
    session: SessionDep,
    reason: Annotated[str, Query(max_length=500, description="Why (kept in the audit log).")] = "",
) -> Response:
    """Owner or admin: take the entry off every board and list and cancel its unfinished runs (its record and
    history stay; no quota comes back). 409 for an owner when the entry is a study's variant, or when others
    submitted the same spec or added seeds to it."""
    service.delete_submission(session, user, submission_id, reason)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/tokens/{token_id}/ban", responses=ACTION_RESPONSES)
def ban_token(token_id: TokenId, body: ReasonIn, user: UserDep, session: SessionDep) -> TokenBanOut:
    """Admin only: revoke a token for good; requests with it get 401 naming the reason."""
    token = service.ban_token(session, user, token_id, body.reason)
    session.commit()
    return TokenBanOut(
        id=token.id,
        user=token.user.name,
        prefix=token.prefix,
        name=token.name,
        revoked_at=token.revoked_at,
        banned_reason=token.banned_reason,
    )


@router.post("/users/{name}/ban", responses={**ACTION_RESPONSES, **CONFLICT})
def ban_user(name: UserName, body: ReasonIn, user: UserDep, session: SessionDep) -> UserBanOut:
    """Admin only: ban a user: every token is revoked (requests get 401 naming the reason) and every browser
    session ends at once; the audit log keeps who, when and why."""
    banned = service.ban_user(session, user, name, body.reason)
    session.commit()
    return UserBanOut.model_validate(banned)


@router.post("/users/{name}/unban", responses=ACTION_RESPONSES)
def unban_user(name: UserName, body: ReasonIn, user: UserDep, session: SessionDep) -> UserBanOut:
    """Admin only: lift a ban (revoked tokens stay revoked: the user makes new ones)."""
    unbanned = service.ban_user(session, user, name, None, note=body.reason)
    session.commit()
    return UserBanOut.model_validate(unbanned)


def event_out(event: AuditEvent) -> AuditEventOut:
    return AuditEventOut(
        id=event.id,
        at=event.at,
        actor=event.actor.name if event.actor is not None else None,
        action=event.action,
        target_kind=event.target_kind,
        target_id=event.target_id,
        reason=event.reason,
        details=event.details,
        summary=service.describe(event),
    )


@router.get("/audit", responses={**ERROR_RESPONSES, **AUTH_RESPONSES})
def audit_log(
    user: UserDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[AuditEventOut]:
    """Admin only: every owner and admin action, newest first."""
    return [event_out(e) for e in service.audit_log(session, user, limit=limit, offset=offset)]
