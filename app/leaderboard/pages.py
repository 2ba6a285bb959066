"""Leaderboard pages."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from app.benchmarks.registry import DEFAULT_BENCHMARK
from app.deps import SessionDep, SettingsDep
from app.leaderboard import service
from app.leaderboard.api import resolve_benchmark_or_404
from app.leaderboard.plots import frontier_figure
from app.web import render

router = APIRouter(include_in_schema=False)


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse(f"/benchmarks/{DEFAULT_BENCHMARK}", status_code=307)


@router.get("/benchmarks/{slug}", response_class=HTMLResponse)
def leaderboard_page(slug: str, request: Request, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    benchmark = resolve_benchmark_or_404(slug)
    board = service.board(session, benchmark, settings.max_epochs)
    context = {"benchmark": benchmark, "entries": board.entries, "noise_std": board.noise_std}
    return render(request, "leaderboard.html", {**context, "figure": frontier_figure(board.entries)})
