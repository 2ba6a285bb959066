"""The queue page: queued, running, finished and failed runs, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from app.queueview import repository as repo
from app.web.deps import SessionDep
from app.web.templating import render

router = APIRouter(include_in_schema=False)
STATUSES = ("queued", "running", "finished", "failed")


@router.get("/queue", response_class=HTMLResponse)
def queue_page(
    request: Request,
    session: SessionDep,
    status: Annotated[str | None, Query(pattern="^(queued|running|finished|failed)?$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> HTMLResponse:
    context = {
        "runs": repo.recent_runs(session, status=status or None, limit=limit),
        "counts": repo.status_counts(session),
        "statuses": STATUSES,
        "status": status or "",
        "limit": limit,
    }
    return render(request, "queue.html", context)
