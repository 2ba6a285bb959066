"""Study pages: the list, and one study with its verdict grid."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from app.deps import SessionDep, SettingsDep
from app.studies import service
from app.studies.plots import accuracy_figure
from app.web import render

router = APIRouter(include_in_schema=False)


@router.get("/studies", response_class=HTMLResponse)
def studies_page(request: Request, session: SessionDep) -> HTMLResponse:
    return render(request, "studies.html", {"studies": service.list_studies(session)})


@router.get("/studies/{study_id}", response_class=HTMLResponse)
def study_page(
    request: Request, study_id: Annotated[int, Path(ge=1, le=2**62)], session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    view = service.study_view(session, study_id, max_epochs=settings.max_epochs)
    context = {"s": view.out, "grid": view.grid, "figure": accuracy_figure(view.out.variant_list)}
    return render(request, "study.html", context)
