"""The front door: what archarena is in two sentences, where to look first, and how scoring works in plain words."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.benchmarks.availability import data_status
from app.benchmarks.registry import all_benchmarks
from app.studies.views import list_studies
from app.web.deps import SessionDep, SettingsDep
from app.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    boards = [b for b in all_benchmarks() if data_status(b, settings.data_dir).installed]
    return render(request, "home.html", {"boards": boards, "studies": list_studies(session, limit=8)})


@router.get("/how", response_class=HTMLResponse)
def how_scoring_works(request: Request) -> HTMLResponse:
    return render(request, "how.html", {})
