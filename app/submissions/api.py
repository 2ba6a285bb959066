"""JSON API for specs and submissions. Thin: parse, call a service, commit at the boundary (the relay sends the
new runs)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy.exc import IntegrityError

from app.core.errors import AUTH_RESPONSES, DATA_ABSENT, ERROR_RESPONSES, NOT_FOUND, MessageOut
from app.entries.schemas import SubmissionOut, SubmissionSummaryOut
from app.entries.views import get_submission_out, list_summaries
from app.quotas.service import QUOTA_HEADERS_DOC
from app.specs import validation
from app.submissions import service
from app.submissions.schemas import JoinedOut, SpecValidateIn, SpecValidateOut, SubmissionIn, SubmitOut
from app.web.deps import SessionDep, SettingsDep, UserDep
from app.web.params import SubmissionId
from app.web.ratelimit import RATE_LIMIT_RESPONSES, is_anonymous

router = APIRouter(prefix="/api/v1", tags=["submissions"])
SUBMIT_RESPONSES: dict[int | str, dict[str, object]] = {
    201: {"description": "Created and queued; the quota headers count it.", "headers": QUOTA_HEADERS_DOC},
    200: {
        "model": SubmitOut,
        "description": "A duplicate: this spec, benchmark and recipe version are already a live entry (by "
        "anyone). The body is that entry, with `duplicate` saying what happened: nothing queued and no quota "
        "spent, or, when more seeds were asked for than it has, the missing ones added to it for one of the "
        "asker's daily submissions. `X-Duplicate-Of` and `Location` point at it.",
        "headers": {
            **QUOTA_HEADERS_DOC,
            "X-Duplicate-Of": {"description": "The existing submission's id.", "schema": {"type": "integer"}},
        },
    },
    **DATA_ABSENT,
    429: {
        "model": MessageOut,
        "description": "The daily quota for this benchmark is used up (or too many requests); see Retry-After.",
        "headers": {
            **QUOTA_HEADERS_DOC,
            "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}},
        },
    },
}


@router.post("/specs/validate", responses={**ERROR_RESPONSES, **RATE_LIMIT_RESPONSES})
def validate_spec(body: SpecValidateIn, request: Request) -> SpecValidateOut:
    """Params, MACs, FLOPs, canonical spec and hash for a benchmark. No token needed (the rate limit is then
    per address); nothing is stored. Cheap checks come first; measuring runs in a bounded pool, so when every
    slot is busy the answer is 503 with Retry-After. Anonymous callers share half of the slots: with a token,
    a validation is not held back by an anonymous flood."""
    checked = validation.validate_spec(body.benchmark, body.spec, anonymous=is_anonymous(request))
    m = checked.measurement
    return SpecValidateOut(
        benchmark=checked.benchmark.slug,
        family=checked.family,
        mixer=checked.mixer,
        params=m.params,
        macs=m.macs,
        flops=m.flops,
        macs_breakdown=dict(m.breakdown),
        canonical_spec=checked.canonical,
        spec_hash=checked.hash,
        train_s_per_image=checked.cost.train_s_per_image,
        projected_run_seconds=checked.projected_run_seconds,
    )


@router.post(
    "/submissions",
    status_code=status.HTTP_201_CREATED,
    responses={**ERROR_RESPONSES, **AUTH_RESPONSES, **SUBMIT_RESPONSES},
)
def create_submission(
    body: SubmissionIn, user: UserDep, session: SessionDep, settings: SettingsDep, response: Response
) -> SubmitOut:
    """Queue a spec for training. Spends one of the user's daily submissions on that benchmark (headers
    `X-Quota-*`). A spec that is already a live entry answers 200 with that entry and `duplicate` saying what
    happened: free when it has the seeds asked for, else the missing seeds are added for one submission."""
    try:
        outcome = service.submit(session, user, body, max_epochs=settings.max_epochs, data_dir=settings.data_dir)
    except IntegrityError:  # an identical submission committed first (the unique key held): join it instead
        session.rollback()
        outcome = service.submit(session, user, body, max_epochs=settings.max_epochs, data_dir=settings.data_dir)
    session.commit()
    response.headers.update(outcome.quota.headers())
    submission = outcome.submission
    joined = None
    if outcome.joined is not None:
        response.status_code = status.HTTP_200_OK
        response.headers["X-Duplicate-Of"] = str(submission.id)
        response.headers["Location"] = f"/api/v1/submissions/{submission.id}"
        j = outcome.joined
        joined = JoinedOut(
            of=submission.id,
            owner=j.of.user.name,
            seeds=j.seeds,
            seeds_added=j.seeds_added,
            quota_used=j.quota_used,
            message=j.message,
        )
    return SubmitOut(**get_submission_out(session, submission.id).model_dump(), duplicate=joined)


@router.get("/submissions/{submission_id}", responses={**NOT_FOUND, **ERROR_RESPONSES})
def get_submission(submission_id: SubmissionId, session: SessionDep) -> SubmissionOut:
    return get_submission_out(session, submission_id)


@router.get("/submissions", responses=ERROR_RESPONSES)
def list_submissions(
    session: SessionDep,
    benchmark: Annotated[str | None, Query(pattern=r"^[a-z0-9_]{1,64}$")] = None,
    user: Annotated[str | None, Query(max_length=64)] = None,
    status_: Annotated[str | None, Query(alias="status", pattern="^(queued|running|finished|failed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[SubmissionSummaryOut]:
    return list_summaries(session, benchmark=benchmark, user=user, status=status_, limit=limit, offset=offset)
