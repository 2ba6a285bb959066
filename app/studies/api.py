"""JSON API for studies. Thin: parse, call a service, commit at the boundary (the relay sends the new runs)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.core.errors import AUTH_RESPONSES, DATA_ABSENT, ERROR_RESPONSES, NOT_FOUND, MessageOut
from app.studies import service, views
from app.studies.schemas import SeedsIn, StudyIn, StudyOut, StudySummaryOut
from app.web.deps import SessionDep, SettingsDep, UserDep
from app.web.params import StudyId

router = APIRouter(prefix="/api/v1", tags=["studies"])
QUOTA_RESPONSE: dict[int | str, dict[str, object]] = {
    429: {"model": MessageOut, "description": "The study's variants do not fit in today's quota: nothing created."}
}


@router.post(
    "/studies",
    status_code=status.HTTP_201_CREATED,
    responses={**ERROR_RESPONSES, **AUTH_RESPONSES, **DATA_ABSENT, **QUOTA_RESPONSE},
)
def create_study(body: StudyIn, user: UserDep, session: SessionDep, settings: SettingsDep) -> StudyOut:
    """Expand a base spec and one varied axis into ordinary submissions (one per value) and queue them. Each
    variant spends one of the user's daily submissions on the benchmark, all or nothing."""
    study = service.create_study(session, user, body, max_epochs=settings.max_epochs, data_dir=settings.data_dir)
    session.commit()
    return views.study_view(session, study.id, max_epochs=settings.max_epochs).out


@router.post(
    "/studies/{study_id}/seeds",
    responses={**ERROR_RESPONSES, **AUTH_RESPONSES, **NOT_FOUND, **QUOTA_RESPONSE},
)
def add_seeds(study_id: StudyId, body: SeedsIn, user: UserDep, session: SessionDep, settings: SettingsDep) -> StudyOut:
    """A new look at an inconclusive study: `seeds` more seeds for every variant (owner or admin; at most 3
    looks in all, the α spent across them; capped by the benchmark's max_seeds). The owner spends one of the
    day's run-seconds for the runs it adds, all or nothing; an admin nothing."""
    service.add_seeds(session, user, study_id, body.seeds, max_epochs=settings.max_epochs)
    session.commit()
    return views.study_view(session, study_id, max_epochs=settings.max_epochs).out


@router.get("/studies", responses=ERROR_RESPONSES)
def list_studies(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[StudySummaryOut]:
    return views.list_studies(session, limit=limit, offset=offset)


@router.get("/studies/{study_id}", responses={**NOT_FOUND, **ERROR_RESPONSES})
def get_study(study_id: StudyId, session: SessionDep, settings: SettingsDep) -> StudyOut:
    """Variants (accuracy, compute, matching, curves), pairwise verdicts, δ, α at this look, a summary, notes."""
    return views.study_view(session, study_id, max_epochs=settings.max_epochs).out
