"""The "which family wins overall?" page and its JSON. Thin: parse, call ``overall``, return."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from app.core.errors import ERROR_RESPONSES
from app.leaderboard.overall import figures, overall
from app.web.deps import SessionDep, SettingsDep
from app.web.templating import render

router = APIRouter()
By = Annotated[str, Query(pattern="^(family|mixer)$", description="Group baselines by family, or by token mixer.")]


@router.get("/api/v1/overall", tags=["leaderboard"], responses=ERROR_RESPONSES)
def overall_api(session: SessionDep, settings: SettingsDep, by: By = "family") -> dict[str, Any]:
    """IQM across the built-in benchmarks per family (or mixer) of the platform's baselines, probability of
    improvement of the leader, performance profiles, and expected best accuracy against the number of tries."""
    result = overall(session, settings.max_epochs, settings.data_dir, by)
    return {
        "by": result.by,
        "benchmarks": result.benchmarks,
        "sentence": result.sentence,
        "contenders": [{"name": c.name, "iqm": c.iqm, "profile": c.profile, "runs": c.runs} for c in result.contenders],
        "improvement": result.improvement,
        "try_curves": result.curves,
    }


@router.get("/overall", response_class=HTMLResponse, include_in_schema=False)
def overall_page(request: Request, session: SessionDep, settings: SettingsDep, by: By = "family") -> HTMLResponse:
    result = overall(session, settings.max_epochs, settings.data_dir, by)
    return render(request, "overall.html", {"result": result, "figures": figures(result)})
