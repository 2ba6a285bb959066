"""JSON API for studies. Thin: parse, call a service, commit at the boundary, enqueue after the commit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status

from app.core.errors import AUTH_RESPONSES, ERROR_RESPONSES, NOT_FOUND, MessageOut
from app.quotas.service import QuotaExceeded
from app.studies import service
from app.studies.schemas import SeedsIn, StudyIn, StudyOut, StudySummaryOut
from app.web.deps import QueueDep, SessionDep, SettingsDep, UserDep

router = APIRouter(prefix="/api/v1", tags=["studies"])
StudyId = Annotated[int, Path(ge=1, le=2**62, description="A study's id.")]
QUOTA_RESPONSE: dict[int | str, dict[str, object]] = {
    429: {"model": MessageOut, "description": "The study's variants do not fit in today's quota: nothing created."}
}


@router.post(
    "/studies",
    status_code=status.HTTP_201_CREATED,
    responses={**ERROR_RESPONSES, **AUTH_RESPONSES, **QUOTA_RESPONSE},
)
def create_study(body: StudyIn, user: UserDep, session: SessionDep, queue: QueueDep, settings: SettingsDep) -> StudyOut:
    """Expand a base spec and one varied axis into ordinary submissions (one per value) and queue them. Each
    variant spends one of the user's daily submissions on the benchmark, all or nothing."""
    try:
        study = service.create_study(session, user, body, max_epochs=settings.max_epochs)
    except QuotaExceeded as exc:
        headers = {**exc.quota.headers(), "Retry-After": str(exc.retry_after_s)}
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, detail=str(exc), headers=headers) from None
    run_ids = service.study_run_ids(session, study)
    session.commit()
    queue.send_train_runs(run_ids)  # after the commit: a worker never sees a missing row
    return service.study_view(session, study.id, max_epochs=settings.max_epochs).out


@router.post(
    "/studies/{study_id}/seeds",
    responses={**ERROR_RESPONSES, **AUTH_RESPONSES, **NOT_FOUND, **QUOTA_RESPONSE},
)
def add_seeds(
    study_id: StudyId, body: SeedsIn, user: UserDep, session: SessionDep, queue: QueueDep, settings: SettingsDep
) -> StudyOut:
    """A new look at an inconclusive study: `seeds` more seeds for every variant (owner or admin; at most 3
    looks in all, the α spent across them; capped by the benchmark's max_seeds). The owner spends one of the
    day's submissions per variant, all or nothing; an admin nothing."""
    try:
        run_ids = service.add_seeds(session, user, study_id, body.seeds, max_epochs=settings.max_epochs)
    except QuotaExceeded as exc:
        headers = {**exc.quota.headers(), "Retry-After": str(exc.retry_after_s)}
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, detail=str(exc), headers=headers) from None
    session.commit()
    queue.send_train_runs(run_ids)
    return service.study_view(session, study_id, max_epochs=settings.max_epochs).out


@router.get("/studies", responses=ERROR_RESPONSES)
def list_studies(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[StudySummaryOut]:
    return service.list_studies(session, limit=limit, offset=offset)


@router.get("/studies/{study_id}", responses={**NOT_FOUND, **ERROR_RESPONSES})
def get_study(study_id: StudyId, session: SessionDep, settings: SettingsDep) -> StudyOut:
    """Variants (accuracy, compute, matching, curves), pairwise verdicts, δ, α at this look, a summary, notes."""
    return service.study_view(session, study_id, max_epochs=settings.max_epochs).out
