"""The queue page: what trains now, what trains next in the fair order (with estimated starts), and every run,
newest first. ``mine`` narrows all three to the logged-in user's runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from app.core.db.tables import Run, User
from app.core.queue import fairness
from app.core.units import duration
from app.queueview import repository as repo
from app.web.deps import SessionDep, WebUserDep
from app.web.templating import render

router = APIRouter(include_in_schema=False)
STATUSES = ("queued", "running", "finished", "failed")
NEXT_SHOWN = 200


@dataclass(frozen=True)
class QueuedRow:
    """One queued run as the page shows it: its place in the fair order and when it should start."""

    position: int  # 1-based
    run: Run
    projected: str
    estimated_start: datetime


def fair_queue(session: Session, user: User | None, limit: int) -> tuple[list[QueuedRow], int, str]:
    """The queued runs in fair order (the user's only, with ``user``), how many are queued in all, and the
    numbers behind the estimates in words."""
    snap = fairness.snapshot(session)
    picked = [(i, queued) for i, queued in enumerate(snap.order) if user is None or queued.user_id == user.id][:limit]
    runs = repo.runs_by_id(session, [queued.run_id for _, queued in picked])
    rows = [
        QueuedRow(i + 1, runs[queued.run_id], duration(queued.seconds), snap.estimated_start(i))
        for i, queued in picked
        if queued.run_id in runs
    ]
    basis = f"{snap.workers} worker{'s' if snap.workers != 1 else ''}, runs taking {snap.speed:.2g}× their projection"
    return rows, len(snap.order), basis


@router.get("/queue", response_class=HTMLResponse)
def queue_page(
    request: Request,
    session: SessionDep,
    web_user: WebUserDep,
    status: Annotated[str | None, Query(pattern="^(queued|running|finished|failed)?$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    mine: Annotated[bool, Query()] = False,
) -> HTMLResponse:
    user = web_user if mine else None
    user_id = user.id if user is not None else None
    queued, total_queued, basis = fair_queue(session, user, NEXT_SHOWN)
    context = {
        "running": repo.running_runs(session, user_id=user_id),
        "queued": queued,
        "total_queued": total_queued,
        "basis": basis,
        "runs": repo.recent_runs(session, status=status or None, limit=limit, user_id=user_id),
        "counts": repo.status_counts(session),
        "statuses": STATUSES,
        "status": status or "",
        "limit": limit,
        "mine": mine,
        "web_user": web_user,
    }
    return render(request, "queue.html", context)
