"""Leaderboard pages: the table and the frontier explorer of one benchmark, and its CSV export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.benchmarks.availability import data_status
from app.benchmarks.recipes import effective_recipe_version
from app.benchmarks.references import references_for
from app.benchmarks.registry import Benchmark
from app.benchmarks.samples import SAMPLE_SLUGS, sample_grid, sample_png
from app.core.errors import NotFound
from app.entries import board as service
from app.leaderboard.api import resolve_benchmark_or_404
from app.leaderboard.export import entries_csv, filter_entries, matches
from app.leaderboard.families import families_out, group_of
from app.leaderboard.plots import explorer_figures, families_figure, second_test_figure, timeline_figure
from app.web.deps import SessionDep, SettingsDep
from app.web.templating import render

router = APIRouter(include_in_schema=False)
FilterParam = Annotated[str | None, Query(max_length=64)]


@router.get("/benchmarks/{slug}/samples.png")
def samples_png(slug: str, settings: SettingsDep) -> Response:
    """A grid of sample images per class, beside their second-test (or harder, or cue-conflict) twins."""
    benchmark = resolve_benchmark_or_404(slug)
    if slug not in SAMPLE_SLUGS or not data_status(benchmark, settings.data_dir).installed:
        raise NotFound(f"sample images of {slug!r}")
    png = sample_png(slug, data_dir=settings.data_dir)
    return Response(png, media_type="image/png", headers={"Cache-Control": "max-age=86400"})


@router.get("/benchmarks/{slug}.csv")
def leaderboard_csv(
    slug: str, session: SessionDep, settings: SettingsDep, family: FilterParam = None, mixer: FilterParam = None
) -> Response:
    benchmark = resolve_benchmark_or_404(slug)
    entries = filter_entries(service.leaderboard(session, benchmark, settings.max_epochs), family, mixer)
    return Response(
        entries_csv(entries),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{benchmark.slug}-leaderboard.csv"'},
    )


@router.get("/benchmarks/{slug}", response_class=HTMLResponse, response_model=None)
def leaderboard_page(
    slug: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    family: FilterParam = None,
    mixer: FilterParam = None,
    format: Annotated[str | None, Query(pattern="^(html|csv|json)$")] = None,
) -> Response:
    if format == "csv":
        return RedirectResponse(
            request.url_for("leaderboard_csv", slug=slug).include_query_params(
                **{k: v for k, v in (("family", family), ("mixer", mixer)) if v}
            ),
            status_code=307,
        )
    if format == "json":
        return RedirectResponse(f"/api/v1/benchmarks/{slug}/leaderboard", status_code=307)
    benchmark = resolve_benchmark_or_404(slug)
    board = service.board(session, benchmark, settings.max_epochs)
    entries = board.entries
    version = effective_recipe_version(benchmark.recipe, settings.max_epochs)
    crossing = families_out(entries, benchmark.slug, benchmark.title, version)
    context = {
        "benchmark": benchmark,
        "entries": entries,
        "board": board,
        "noise_std": board.noise_std,
        "shown": {e.id for e in entries if matches(e, family, mixer)},
        "filters": {"family": family or "", "mixer": mixer or ""},
        "families": sorted({e.family for e in entries}),
        "mixers": sorted({e.mixer for e in entries if e.mixer}),
        "figures": {
            "explorer": explorer_figures(entries),
            "test2": second_test_figure(entries),
            "timeline": timeline_figure(entries),
        },
        "crossing": crossing,
        "crossing_figure": families_figure(crossing, entries, lambda e: group_of(e, crossing.by)),
        **_data_context(benchmark, settings.data_dir),
    }
    return render(request, "leaderboard.html", context)


def _data_context(benchmark: Benchmark, data_dir: Path) -> dict[str, object]:
    """Whether the data is here, its sample grid's captions, and the published results shown beside the board."""
    status = data_status(benchmark, data_dir)
    grid = (
        sample_grid(benchmark.slug, data_dir=data_dir) if status.installed and benchmark.slug in SAMPLE_SLUGS else None
    )
    return {"data": status, "samples": grid, "references": references_for(benchmark.slug)}
