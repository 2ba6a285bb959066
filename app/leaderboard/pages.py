"""Leaderboard pages: the table (one page of the stored board, filtered and sorted by the server), its charts'
figures as JSON on demand, and its CSV export (streamed)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse

from app.benchmarks.availability import data_status
from app.benchmarks.references import references_for
from app.benchmarks.registry import Benchmark
from app.benchmarks.samples import SAMPLE_SLUGS, sample_grid, sample_png
from app.core.errors import NotFound
from app.entries import stored
from app.entries.stored import BoardQuery, StoredView
from app.leaderboard import boards
from app.leaderboard.api import BoardQueryDep, resolve_benchmark_or_404
from app.leaderboard.boards import PAGE_ROWS
from app.web.caching import revalidated, validators
from app.web.deps import SessionDep, SettingsDep
from app.web.templating import render

router = APIRouter(include_in_schema=False)
TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / "leaderboard.html"
FILTERS = ("q", "family", "mixer", "pmin", "pmax")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    title: str  # what the column means, shown when hovering its heading
    num: bool = False
    sort: str | None = None  # the server's sort key, when it sorts on this column


COLUMNS = (
    Column("rank", "Rank", "1 + the entries clearly better (intervals that do not overlap); the small number is the "
           "worst rank the data allow. Empty until every requested seed has finished.", True, "rank"),
    Column("name", "Name", "The entry's name, as its submitter gave it; opens its page.", sort="name"),
    Column("family", "Family", "The architecture family (metaformer, resnet, …).", sort="family"),
    Column("mixer", "Mixer", "A MetaFormer's token mixer (attention, pooling, spatial MLP, …); — for other families."),
    Column("params", "Params", "Trainable parameters of the model.", True, "params"),
    Column("macs", "MACs", "Multiply-accumulates of one forward pass of one image (FLOPs = 2 × MACs).", True, "macs"),
    Column("test", "Test acc (mean ± std)", "Public test accuracy: mean over the finished seeds ± their standard "
           "deviation.", True, "test"),
    Column("ci", "Interval", "The board's interval of the mean: every error source (seed noise, test-set sampling), "
           "simultaneous over the board's complete entries.", True),
    Column("test2", "Second test", "Accuracy on the shifted second test set (robustness), mean over seeds.", True),
    Column("gap", "Gap", "Train accuracy minus test accuracy, in points (overfitting).", True),
    Column("seeds", "Seeds", "Seeds finished / seeds requested.", True),
    Column("flags", "Flags", "On the Pareto frontier; near-variant tries in its lineage; a platform baseline; an "
           "admin's flag."),
    Column("status", "Status", "queued, running, finished or failed (over all its seeds)."),
    Column("user", "Submitter", "Who submitted it."),
    Column("date", "Date", "When it was submitted (UTC).", sort="date"),
)  # fmt: skip


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
    slug: str, request: Request, session: SessionDep, settings: SettingsDep, query: BoardQueryDep
) -> Response:
    """Every entry that matches the filters (all pages), streamed."""
    benchmark = resolve_benchmark_or_404(slug)
    view = boards.view_of(session, benchmark, settings.max_epochs)
    headers = revalidated(request, validators(view.etag, view.computed_at))
    headers["Content-Disposition"] = f'attachment; filename="{benchmark.slug}-leaderboard.csv"'
    body = boards.csv_stream(session, view, query)
    return StreamingResponse(body, media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/benchmarks/{slug}/figures/{kind}")
def leaderboard_figure(
    slug: str,
    kind: Literal["explorer", "test2", "timeline", "crossing"],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    query: BoardQueryDep,
    color: Annotated[Literal["family", "mixer"], Query()] = "family",
    x: Annotated[Literal["macs", "params", "deploy", "train_seconds"], Query()] = "macs",
    y: Annotated[Literal["test", "test2"], Query()] = "test",
) -> Response:
    """One chart of the board as Plotly figure JSON (the page fetches the variant it shows)."""
    view = boards.view_of(session, resolve_benchmark_or_404(slug), settings.max_epochs)
    headers = revalidated(request, validators(view.etag, view.computed_at))
    return JSONResponse(boards.figure(session, view, kind, (color, x, y), query), headers=headers)


@router.get("/benchmarks/{slug}", response_class=HTMLResponse, response_model=None)
def leaderboard_page(
    slug: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    query: BoardQueryDep,
    format: Annotated[str | None, Query(pattern="^(html|csv|json)$")] = None,
) -> Response:
    if format in ("csv", "json"):
        return _redirect(slug, format, query)
    benchmark = resolve_benchmark_or_404(slug)
    view = boards.view_of(session, benchmark, settings.max_epochs)
    tag = f"{view.etag}-{int(TEMPLATE.stat().st_mtime)}"
    headers = revalidated(request, validators(tag, view.computed_at, per_visitor=request))
    page = replace(query, per_page=PAGE_ROWS)
    response = render(request, "leaderboard.html", _context(session, benchmark, view, page, settings.data_dir))
    response.headers.update(headers)
    return response


def _redirect(slug: str, format: str, query: BoardQuery) -> Response:
    params = {k: v for k in FILTERS if (v := getattr(query, k)) is not None}
    target = f"/benchmarks/{slug}.csv" if format == "csv" else f"/api/v1/benchmarks/{slug}/leaderboard"
    return RedirectResponse(target + (f"?{urlencode(params)}" if params else ""), status_code=307)


def _context(session: Any, benchmark: Benchmark, view: StoredView, query: BoardQuery, data_dir: Path) -> dict[str, Any]:
    total = stored.count(session, view, query)
    filters = {
        k: ("" if (v := getattr(query, k)) is None else f"{v:g}" if isinstance(v, float) else v) for k in FILTERS
    }
    return {
        "benchmark": benchmark,
        "view": view,
        "reference": view.reference,
        "entries": [stored.entry_from_data(row) for row in stored.page_rows(session, view, query)],
        "total": total,
        "pages": max(1, -(-total // query.per_page)),
        "query": query,
        "filters": filters,
        "filter_query": urlencode({k: v for k, v in filters.items() if v}),
        **_ordering(query, filters),
        "families": view.meta["families"],
        "mixers": view.meta["mixers"],
        "crossing": boards.stored_crossing(view),
        "n_scored": view.meta["n_scored"],
        **_data_context(benchmark, data_dir),
    }


def _ordering(query: BoardQuery, filters: dict[str, Any]) -> dict[str, Any]:
    """Each sortable column's link (a second click reverses it), the current order, and a page's link."""
    kept = {k: v for k, v in filters.items() if v}
    current = query.dir or ("asc" if query.sort in stored.ASCENDING else "desc")

    def url(**params: Any) -> str:
        return "?" + urlencode({**kept, **{k: v for k, v in params.items() if v not in (None, "", 1)}})

    def sort_url(sort: str) -> str:
        natural = "asc" if sort in stored.ASCENDING else "desc"
        flipped = {"asc": "desc", "desc": "asc"}[current] if sort == query.sort else natural
        return url(sort=None if sort == "rank" else sort, dir=None if flipped == natural else flipped)

    def page_url(page: int) -> str:
        return url(sort=None if query.sort == "rank" else query.sort, dir=query.dir, page=page)

    return {
        "columns": COLUMNS,
        "sorted_by": (query.sort, current),
        "sort_urls": {c.key: sort_url(c.sort) for c in COLUMNS if c.sort},
        "page_url": page_url,
    }


def _data_context(benchmark: Benchmark, data_dir: Path) -> dict[str, object]:
    """Whether the data is here, its sample grid's captions, and the published results shown beside the board."""
    status = data_status(benchmark, data_dir)
    grid = (
        sample_grid(benchmark.slug, data_dir=data_dir) if status.installed and benchmark.slug in SAMPLE_SLUGS else None
    )
    return {"data": status, "samples": grid, "references": references_for(benchmark.slug)}
