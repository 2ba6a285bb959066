"""JSON API: benchmarks, leaderboards and frontiers. Thin: parse, call a service, return."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app.benchmarks.availability import data_status
from app.benchmarks.recipes import effective_recipe_version
from app.benchmarks.registry import Benchmark, all_benchmarks
from app.core.errors import NOT_FOUND, InputError, NotFound
from app.entries import board as service
from app.leaderboard.families import families_out
from app.leaderboard.schemas import (
    BenchmarkOut,
    EntryOut,
    FamiliesOut,
    FrontierOut,
    LeaderboardOut,
    LimitsOut,
    NoiseOut,
)
from app.specs.validation import resolve_benchmark
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


@router.get("/benchmarks/{slug}/leaderboard", responses=NOT_FOUND)
def get_leaderboard(slug: str, session: SessionDep, settings: SettingsDep) -> LeaderboardOut:
    benchmark = resolve_benchmark_or_404(slug)
    board = service.board(session, benchmark, settings.max_epochs)
    ref = board.reference
    return LeaderboardOut(
        benchmark=slug,
        recipe_version=effective_recipe_version(benchmark.recipe, settings.max_epochs),
        noise=NoiseOut(
            sigma=ref.ref.sigma,
            df=ref.ref.df,
            reference=ref.ref.to_dict(),
            status=ref.status,
            frozen_at=ref.frozen_at,
            entry_ids=ref.entry_ids,
            description=ref.describe(),
        ),
        covers=board.covers,
        level=board.level,
        n_complete=board.n_complete,
        n_test=board.n_test,
        entries=[EntryOut.model_validate(e.to_dict()) for e in board.entries],
    )


@router.get("/benchmarks/{slug}/frontier", responses=NOT_FOUND)
def get_frontier(slug: str, session: SessionDep, settings: SettingsDep) -> FrontierOut:
    benchmark = resolve_benchmark_or_404(slug)
    entries = service.leaderboard(session, benchmark, settings.max_epochs)
    return FrontierOut(
        benchmark=slug,
        recipe_version=effective_recipe_version(benchmark.recipe, settings.max_epochs),
        x="macs",
        y="test_acc_mean",
        points=[EntryOut.model_validate(e.to_dict()) for e in service.frontier(entries)],
    )


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
    benchmark = resolve_benchmark_or_404(slug)
    entries = service.leaderboard(session, benchmark, settings.max_epochs)
    version = effective_recipe_version(benchmark.recipe, settings.max_epochs)
    return families_out(entries, slug, benchmark.title, version, by, x)


def resolve_benchmark_or_404(slug: str) -> Benchmark:
    try:
        return resolve_benchmark(slug)
    except InputError:
        raise NotFound(f"benchmark {slug!r}") from None
