"""JSON API: benchmarks, leaderboards and frontiers. Thin: parse, call a service, return."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from app.benchmarks.availability import data_status
from app.benchmarks.registry import Benchmark, all_benchmarks
from app.core.errors import NOT_FOUND, InputError, NotFound
from app.entries.stored import BoardQuery
from app.leaderboard import boards
from app.leaderboard.boards import MAX_PER_PAGE
from app.leaderboard.schemas import BenchmarkOut, FamiliesOut, FrontierOut, LeaderboardOut, LimitsOut
from app.specs.validation import resolve_benchmark
from app.web.caching import revalidated, validators
from app.web.deps import SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1", tags=["benchmarks"])


def benchmark_out(benchmark: Benchmark, data_dir: Path | None = None) -> BenchmarkOut:
    status = data_status(benchmark, data_dir)
    return BenchmarkOut(
        slug=benchmark.slug,
        title=benchmark.title,
        description=benchmark.description,
        input_shape=list(benchmark.input_shape),
        num_classes=benchmark.num_classes,
        recipe=benchmark.recipe.to_dict(),
        limits=LimitsOut.model_validate(asdict(benchmark.limits)),
        default_seeds=benchmark.default_seeds,
        max_seeds=benchmark.max_seeds,
        second_test=benchmark.second_test,
        builtin=benchmark.builtin,
        installed=status.installed,
        availability=status.public_message,
        n_test=benchmark.n_test,
        n_test_private=benchmark.n_test_private,
        n_test2=benchmark.n_test2,
        class_names=list(benchmark.class_names),
        url=f"/benchmarks/{benchmark.slug}",
    )


@router.get("/benchmarks")
def list_benchmarks(settings: SettingsDep) -> list[BenchmarkOut]:
    return [benchmark_out(b, settings.data_dir) for b in all_benchmarks()]


@router.get("/benchmarks/{slug}", responses=NOT_FOUND)
def get_benchmark(slug: str, settings: SettingsDep) -> BenchmarkOut:
    return benchmark_out(resolve_benchmark_or_404(slug), settings.data_dir)


SortParam = Literal["rank", "test", "params", "macs", "name", "family", "date"]
TextParam = Annotated[str | None, Query(max_length=64)]
BOARD_RESPONSES: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    304: {"description": "Not modified: the board's version is the one the client holds."},
}


def board_query(
    page: Annotated[int, Query(ge=1, le=1_000_000, description="The page (1 is the first).")] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE, description="Entries per page.")] = 100,
    sort: Annotated[SortParam, Query(description="rank: the board's own order (rank, then mean).")] = "rank",
    dir: Annotated[Literal["asc", "desc"] | None, Query(description="Default: the column's natural order.")] = None,
    q: Annotated[str | None, Query(max_length=64, description="Search names, submitters, families, mixers.")] = None,
    family: TextParam = None,
    mixer: TextParam = None,
    pmin: Annotated[float | None, Query(ge=0, le=1e15, description="Fewest parameters.")] = None,
    pmax: Annotated[float | None, Query(ge=0, le=1e15, description="Most parameters.")] = None,
) -> BoardQuery:
    return BoardQuery(family or None, mixer or None, (q or "").strip() or None, pmin, pmax, sort, dir, page, per_page)


BoardQueryDep = Annotated[BoardQuery, Depends(board_query)]


@router.get("/benchmarks/{slug}/leaderboard", response_model=LeaderboardOut, responses=BOARD_RESPONSES)
def get_leaderboard(
    slug: str, request: Request, response: Response, session: SessionDep, settings: SettingsDep, query: BoardQueryDep
) -> Any:
    """One page of the stored board (filtered, searched and sorted by the server), with the board's noise
    reference and when it was computed. ETag/Last-Modified follow the board's version."""
    view = boards.view_of(session, resolve_benchmark_or_404(slug), settings.max_epochs)
    response.headers.update(revalidated(request, validators(view.etag, view.computed_at)))
    return boards.leaderboard_out(session, view, query)


@router.get("/benchmarks/{slug}/frontier", response_model=FrontierOut, responses=BOARD_RESPONSES)
def get_frontier(slug: str, request: Request, response: Response, session: SessionDep, settings: SettingsDep) -> Any:
    view = boards.view_of(session, resolve_benchmark_or_404(slug), settings.max_epochs)
    response.headers.update(revalidated(request, validators(view.etag, view.computed_at)))
    return boards.frontier_out(session, view)


@router.get("/benchmarks/{slug}/families", responses=NOT_FOUND)
def get_families(
    slug: str,
    session: SessionDep,
    settings: SettingsDep,
    by: Annotated[
        Literal["mixer", "family"], Query(description="Group metaformers by token mixer, or all by family.")
    ] = "mixer",
    x: Annotated[Literal["macs", "params", "deploy"], Query(description="The cost axis.")] = "macs",
) -> FamiliesOut:
    """Accuracy against log-compute fitted per family (or token mixer) with 95% bootstrap bands over entries and
    seeds, and in words where two groups' bands separate; groups with too few entries are listed with why."""
    view = boards.view_of(session, resolve_benchmark_or_404(slug), settings.max_epochs)
    return boards.crossing_out(session, view, by, x)


def resolve_benchmark_or_404(slug: str) -> Benchmark:
    try:
        return resolve_benchmark(slug)
    except InputError:
        raise NotFound(f"benchmark {slug!r}") from None
