"""The compare page: 2–4 submissions side by side."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from app.compare import service
from app.compare.plots import curves_figure
from app.core.errors import InputError
from app.web.deps import SessionDep
from app.web.templating import error_page, render

router = APIRouter(include_in_schema=False)


@router.get("/compare", response_class=HTMLResponse)
def compare_page(
    request: Request,
    session: SessionDep,
    ids: Annotated[list[str], Query(max_length=200)] = [],  # noqa: B006
) -> HTMLResponse:
    try:
        parsed = service.parse_ids(ids)
    except InputError as exc:
        return error_page(request, 400, exc.errors[0]["msg"] + ". Tick 2–4 entries on a leaderboard and press compare.")
    result = service.compare(session, parsed)
    names = {s.id: s.name for s in result.submissions}
    context = {
        "c": result,
        "names": names,
        "ids": ",".join(map(str, parsed)),
        "figure": curves_figure(result.submissions),
    }
    return render(request, "compare.html", context)
