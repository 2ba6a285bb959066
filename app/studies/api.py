"""JSON API for studies. Thin: parse, call a service, commit at the boundary, enqueue after the commit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from app.deps import QueueDep, SessionDep, SettingsDep, UserDep
from app.errors import AUTH_RESPONSES, ERROR_RESPONSES, NOT_FOUND
from app.studies import service
from app.studies.schemas import StudyIn, StudyOut, StudySummaryOut

router = APIRouter(prefix="/api/v1", tags=["studies"])
StudyId = Annotated[int, Path(ge=1, le=2**62, description="A study's id.")]


@router.post("/studies", status_code=status.HTTP_201_CREATED, responses={**ERROR_RESPONSES, **AUTH_RESPONSES})
def create_study(body: StudyIn, user: UserDep, session: SessionDep, queue: QueueDep, settings: SettingsDep) -> StudyOut:
    """Expand a base spec and one varied axis into ordinary submissions (one per value) and queue them."""
    study = service.create_study(session, user, body, max_epochs=settings.max_epochs)
    run_ids = service.study_run_ids(session, study)
    session.commit()
    queue.send_train_runs(run_ids)  # after the commit: a worker never sees a missing row
    return service.study_view(session, study.id, max_epochs=settings.max_epochs).out


@router.get("/studies", responses=ERROR_RESPONSES)
def list_studies(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[StudySummaryOut]:
    return service.list_studies(session, limit=limit, offset=offset)


@router.get("/studies/{study_id}", responses={**NOT_FOUND, **ERROR_RESPONSES})
def get_study(study_id: StudyId, session: SessionDep, settings: SettingsDep) -> StudyOut:
    """Variants (accuracy, compute, matching), pairwise verdicts, δ, a summary and notes."""
    return service.study_view(session, study_id, max_epochs=settings.max_epochs).out
