"""A benchmark's stored board as the API and the pages serve it: one page of rows (filtered, sorted and searched
in SQL), the frontier, every row streamed as CSV, the families' fits stored with the snapshot. No statistics
here: the snapshot (``app.entries.stored``) holds them."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.benchmarks.recipes import effective_recipe_version
from app.benchmarks.registry import Benchmark, get_benchmark
from app.entries import stored
from app.entries.board import Board
from app.entries.stored import BoardQuery, StoredView
from app.leaderboard.export import CSV_COLUMNS, csv_values
from app.leaderboard.families import families_out, group_of
from app.leaderboard.plots import families_figure, frontier_figure, second_test_figure, timeline_figure
from app.leaderboard.schemas import EntryOut, FamiliesOut, FrontierOut, LeaderboardOut, NoiseOut
from app.web.csvout import csv_lines
from app.web.figures import group_colors

MAX_PER_PAGE = 500
PAGE_ROWS = 50  # rows the page renders; the rest are a link away


def _crossing(board: Board, slug: str, version: str) -> dict[str, Any]:
    """The default fits (by token mixer, against MACs), stored with each snapshot: the page shows them."""
    return families_out(board.entries, slug, get_benchmark(slug).title, version).model_dump(mode="json")


stored.register_extra("crossing", _crossing)


def view_of(session: Session, benchmark: Benchmark, max_epochs: int | None) -> StoredView:
    return stored.current(session, benchmark.slug, effective_recipe_version(benchmark.recipe, max_epochs))


def noise_out(view: StoredView) -> NoiseOut:
    meta = view.meta
    return NoiseOut(
        sigma=meta["reference"]["sigma"],
        df=meta["reference"]["df"],
        reference=meta["reference"],
        status=meta["status"],
        frozen_at=datetime.fromisoformat(meta["frozen_at"]) if meta["frozen_at"] else None,
        entry_ids=meta["entry_ids"],
        description=meta["description"],
    )


def leaderboard_out(session: Session, view: StoredView, query: BoardQuery) -> LeaderboardOut:
    total = stored.count(session, view, query)
    return LeaderboardOut(
        benchmark=view.benchmark,
        recipe_version=view.recipe_version,
        noise=noise_out(view),
        covers=view.meta["covers"],
        level=view.meta["level"],
        n_complete=view.meta["n_complete"],
        n_test=view.meta["n_test"],
        board_version=view.version,
        updated_at=view.computed_at,
        stale=view.stale,
        total=total,
        page=query.page,
        per_page=query.per_page,
        pages=max(1, -(-total // query.per_page)),
        entries=[EntryOut.model_validate(row) for row in stored.page_rows(session, view, query)],
    )


def frontier_out(session: Session, view: StoredView) -> FrontierOut:
    return FrontierOut(
        benchmark=view.benchmark,
        recipe_version=view.recipe_version,
        x="macs",
        y="test_acc_mean",
        points=[EntryOut.model_validate(row) for row in stored.frontier_rows(session, view)],
    )


def stored_crossing(view: StoredView) -> FamiliesOut | None:
    """The default fits as stored with the snapshot; None while they are being computed."""
    kept = view.meta.get("extras", {}).get("crossing")
    return FamiliesOut.model_validate(kept) if kept is not None else None


def crossing_out(session: Session, view: StoredView, by: str = "mixer", x: str = "macs") -> FamiliesOut:
    """The fits as stored with the snapshot (the default grouping and axis); others, or the default ones not
    stored yet, are fitted here."""
    kept = stored_crossing(view) if (by, x) == ("mixer", "macs") else None
    if kept is not None:
        return kept
    title = get_benchmark(view.benchmark).title
    return families_out(stored.entries(session, view), view.benchmark, title, view.recipe_version, by, x)


def csv_stream(session: Session, view: StoredView, query: BoardQuery) -> Iterator[str]:
    """Every matching row as CSV, a chunk at a time (the header first)."""
    rows = (csv_values(data) for data in stored.iter_rows(session.get_bind(), view, query))
    return csv_lines(CSV_COLUMNS, rows)


CHART_CAP = 1500  # points the whole board's cloud is decimated to (the frontier and each group's best exact)
SELECTION_CAP = 5000  # a filtered selection is drawn exactly up to this many points
FIGURES = ("explorer", "test2", "timeline", "crossing")
_figure_cache: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
_CACHED = 64
_cache_lock = threading.Lock()


def figure(session: Session, view: StoredView, kind: str, variant: tuple[str, str, str], query: BoardQuery) -> Any:
    """One chart's figure JSON for the stored board (and the filters), built once per snapshot and kept."""
    board = (str(session.get_bind().engine.url), view.id, view.version, view.computed_at)
    key = (board, kind, variant, query.family, query.mixer, query.q, query.pmin, query.pmax)
    with _cache_lock:
        kept = _figure_cache.get(key)
    if kept is not None:
        return kept
    built = _figure(session, view, kind, variant, query)
    with _cache_lock:
        _figure_cache[key] = built
        while len(_figure_cache) > _CACHED:
            _figure_cache.popitem(last=False)
    return built


def _figure(session: Session, view: StoredView, kind: str, variant: tuple[str, str, str], query: BoardQuery) -> Any:
    color_by, x, y = variant
    entries = [stored.entry_from_data(d) for d in stored.all_rows(session, view, query)]
    cap = (SELECTION_CAP if query.filtered else CHART_CAP) if len(entries) > CHART_CAP else None
    groups = view.meta["families"] if color_by == "family" else [*view.meta["mixers"], "—"]
    colors = group_colors(groups)
    if kind == "test2":
        return second_test_figure(entries, cap=cap)
    if kind == "timeline":
        return timeline_figure(entries, color_by, colors=colors, cap=cap)
    if kind == "crossing":
        out = crossing_out(session, view)
        return families_figure(out, entries, lambda e: group_of(e, out.by), cap=cap)
    return frontier_figure(entries, color_by, x, y, colors=colors, cap=cap)
