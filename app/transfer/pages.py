"""Transfer pages: a benchmark's transfer chart, and the entry page's transfer section (``entry_context``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from app.benchmarks.registry import get_benchmark
from app.core.errors import NotFound
from app.transfer import service
from app.transfer.api import slug_or_404
from app.transfer.plots import family_rows, transfer_figure
from app.web.deps import SessionDep
from app.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/benchmarks/{slug}/transfer", response_class=HTMLResponse)
def transfer_page(slug: str, request: Request, session: SessionDep) -> HTMLResponse:
    benchmark = get_benchmark(slug_or_404(slug))
    tasks = service.benchmark_transfer(session, benchmark.slug)
    context = {
        "benchmark": benchmark,
        "tasks": [
            {"data": t, "figure": transfer_figure(t), "families": family_rows(t), "figure_id": f"transfer-{t.task}"}
            for t in tasks
        ],
    }
    return render(request, "transfer.html", context)


def entry_context(session: Session, submission_id: int) -> dict[str, Any]:
    """What ``_transfer.html`` shows on an entry page: each run's weights download, and upstream vs downstream
    accuracy where the benchmark declares downstream tasks (None for an entry that is gone)."""
    try:
        return {"transfer": service.entry_transfer(session, submission_id)}
    except NotFound:
        return {"transfer": None}
