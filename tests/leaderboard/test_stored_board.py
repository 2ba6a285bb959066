"""The stored board equals a from-scratch computation after every kind of change (a run finished, an entry
hidden, seeds added, the noise reference frozen, an entry deleted), on SQLite and on PostgreSQL: each change marks
its board in its own transaction, and the refresher (not the read) brings the snapshot up to date. A large board
is served as stored while marked, without waiting; one refresher at a time works on a board."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app.benchmarks.recipes import effective_recipe_version
from app.benchmarks.registry import get_benchmark
from app.core.config import Settings
from app.core.db.session import get_engine, session_scope
from app.core.db.tables import BoardMark, StoredBoard
from app.entries import stored
from app.entries.board import board_for_version
from app.entries.repository import get_submission
from app.main import create_app
from app.moderation import service as moderation
from app.runs import lifecycle
from app.submissions.schemas import SubmissionIn
from app.submissions.service import create_submission
from app.users.service import get_or_create_user
from tests.conftest import freeze_reference
from tests.leaderboard.recompute import recompute
from tests.leaderboard.seeding import seed_board

PRESETS = ("tiny_resnet_digits", "tiny_vit_digits", "tiny_mixer_digits", "tiny_poolformer_digits")


def version_of(settings: Settings) -> str:
    return effective_recipe_version(get_benchmark("digits").recipe, settings.max_epochs)


def train(settings: Settings, run_id: int, acc: float) -> None:
    """A run through its real lifecycle: claimed, then finished with a result (one transaction each)."""
    with session_scope(settings.database_url) as session:
        held = lifecycle.claim(session, run_id, worker="w", device="cpu", max_epochs=settings.max_epochs)
        assert held is not None
    with session_scope(settings.database_url) as session:
        result = {"test_acc": acc, "train_acc": min(1.0, acc + 0.02), "val_acc": acc, "test2_acc": acc - 0.1}
        assert lifecycle.finish(session, held, result, seconds=1.0)


def marks(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(BoardMark)) or 0)


def snapshot(engine: Engine, version: str) -> tuple[int, list[dict[str, Any]], dict[str, Any]]:
    """The stored board as it is (no computing): its version, rows and numbers."""
    with Session(engine) as session:
        row = session.scalars(select(StoredBoard).where(StoredBoard.recipe_version == version)).one()
        view = stored.StoredView(
            row.id, row.benchmark, version, row.version, row.computed_at, 0.0, row.n_entries, {}, False
        )
        return row.version, stored.all_rows(session, view), json.loads(row.meta)


def scratch(engine: Engine, version: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    with Session(engine) as session:
        board = board_for_version(session, "digits", version)
    meta = {"reference": board.reference.ref.to_dict(), "status": board.reference.status, "covers": board.covers}
    return [stored.entry_data(e) for e in board.entries], meta


def assert_refreshed_equal(engine: Engine, version: str, before: int) -> int:
    """The change left a mark and the snapshot as it was; the refresher takes the mark in and the snapshot then
    equals a from-scratch computation, row for row and number for number."""
    assert marks(engine) > 0
    assert snapshot(engine, version)[0] == before
    assert stored.refresh_marked(engine, "test") == 1
    assert marks(engine) == 0
    after, rows, meta = snapshot(engine, version)
    expected_rows, expected_meta = scratch(engine, version)
    assert after == before + 1
    assert rows == expected_rows
    assert {k: meta[k] for k in expected_meta} == expected_meta
    return after


@pytest.fixture
def board(db_settings: Settings) -> Iterator[tuple[Settings, dict[str, int]]]:
    with session_scope(db_settings.database_url) as session:
        user = get_or_create_user(session, "stored")
        ids = {}
        for preset in PRESETS:
            body = SubmissionIn(name=preset, spec={"preset": preset, "overrides": {}}, seeds=2)
            ids[preset] = create_submission(session, user, body, max_epochs=db_settings.max_epochs).id
    yield db_settings, ids


def first_snapshot(engine: Engine, version: str) -> int:
    with Session(engine) as session:
        view = stored.current(session, "digits", version)  # a fresh database: the first read computes it
    assert marks(engine) == 0
    return view.version


def runs_of(settings: Settings, submission_id: int) -> list[int]:
    with session_scope(settings.database_url) as session:
        sub = get_submission(session, submission_id)
        assert sub is not None
        return [r.id for r in sub.runs]


def test_stored_board_equals_a_fresh_computation_after_every_change(board: tuple[Settings, dict[str, int]]) -> None:
    settings, ids = board
    engine, version = get_engine(settings.database_url), version_of(settings)
    current = first_snapshot(engine, version)
    for i, preset in enumerate(PRESETS):  # runs finish, one submission at a time
        for k, run_id in enumerate(runs_of(settings, ids[preset])):
            train(settings, run_id, 0.95 - 0.03 * i + 0.004 * k)
        current = assert_refreshed_equal(engine, version, current)
    with session_scope(settings.database_url) as session:  # an entry hidden by an admin
        admin = get_or_create_user(session, "admin", is_admin=True)
        moderation.set_hidden(session, admin, ids["tiny_vit_digits"], "copied")
    current = assert_refreshed_equal(engine, version, current)
    with session_scope(settings.database_url) as session:  # seeds added: two queued runs, not ranked yet
        admin = get_or_create_user(session, "admin", is_admin=True)
        added = moderation.add_seeds(session, admin, ids["tiny_mixer_digits"], 2).run_ids
    current = assert_refreshed_equal(engine, version, current)
    for run_id in added:  # … and finished
        train(settings, run_id, 0.89)
    current = assert_refreshed_equal(engine, version, current)
    freeze_reference(settings, sigma=0.02)  # the recipe version's noise reference frozen
    current = assert_refreshed_equal(engine, version, current)
    assert snapshot(engine, version)[2]["status"] == "frozen"
    with session_scope(settings.database_url) as session:  # deleted by an admin
        admin = get_or_create_user(session, "admin", is_admin=True)
        moderation.delete_submission(session, admin, ids["tiny_poolformer_digits"], "spam")
    assert_refreshed_equal(engine, version, current)
    ids_on_board = [r["id"] for r in snapshot(engine, version)[1]]
    assert ids["tiny_vit_digits"] not in ids_on_board and ids["tiny_poolformer_digits"] not in ids_on_board


def test_a_large_board_is_served_as_stored_while_marked(
    board: tuple[Settings, dict[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, ids = board
    engine, version = get_engine(settings.database_url), version_of(settings)
    first = first_snapshot(engine, version)
    monkeypatch.setattr(stored, "INLINE_MAX", 0)  # every board counts as large
    train(settings, runs_of(settings, ids["tiny_resnet_digits"])[0], 0.97)
    with Session(engine) as session:
        view = stored.current(session, "digits", version)
    assert view.version == first and view.stale  # served at once, as stored, and said to be stale
    assert stored._lease(engine, view.id, "busy", take=True)  # the app's own refresher must not catch up yet
    with TestClient(create_app(settings)) as client:
        body = client.get("/api/v1/benchmarks/digits/leaderboard").json()
        assert body["stale"] is True and body["board_version"] == first
        page = client.get("/benchmarks/digits").text
        assert 'id="board-updated"' in page and 'id="board-stale"' in page
    assert stored._lease(engine, view.id, "busy", take=False)
    assert stored.refresh_marked(engine, "test") >= 1  # this board (and any another test of the session marked)
    with Session(engine) as session:
        view = stored.current(session, "digits", version)
    assert view.version == first + 1 and not view.stale
    mine = set(ids.values())  # on PostgreSQL the session's database also holds other tests' entries
    with Session(engine) as session:
        trained = [r["id"] for r in stored.all_rows(session, view) if r["id"] in mine and r["n"] == 1]
    assert trained == [ids["tiny_resnet_digits"]]


def test_one_refresher_at_a_time_per_board(board: tuple[Settings, dict[str, int]]) -> None:
    settings, ids = board
    engine, version = get_engine(settings.database_url), version_of(settings)
    first = first_snapshot(engine, version)
    train(settings, runs_of(settings, ids["tiny_vit_digits"])[0], 0.9)
    with Session(engine) as session:
        board_id = session.scalars(select(StoredBoard.id).where(StoredBoard.recipe_version == version)).one()
    assert stored._lease(engine, board_id, "other", take=True)  # another process is recomputing it
    assert not stored.refresh(engine, "digits", version, "test")
    assert snapshot(engine, version)[0] == first and marks(engine) > 0
    assert stored._lease(engine, board_id, "other", take=False)
    assert stored.refresh(engine, "digits", version, "test")
    assert snapshot(engine, version)[0] == first + 1 and marks(engine) == 0


def test_the_refresher_thread_takes_marks_in(board: tuple[Settings, dict[str, int]]) -> None:
    settings, ids = board
    engine, version = get_engine(settings.database_url), version_of(settings)
    first = first_snapshot(engine, version)
    train(settings, runs_of(settings, ids["tiny_mixer_digits"])[0], 0.9)
    refresher = stored.BoardRefresher(engine, "thread", interval=0.05).start()
    try:
        deadline = time.monotonic() + 30
        while snapshot(engine, version)[0] == first and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        refresher.stop()
    assert snapshot(engine, version)[0] == first + 1 and marks(engine) == 0


def test_a_seeded_board_of_300_pages_in_bounded_json_equal_to_the_stored_board(db_settings: Settings) -> None:
    version = seed_board(db_settings.database_url, 300, max_epochs=db_settings.max_epochs)
    engine = get_engine(db_settings.database_url)
    with TestClient(create_app(db_settings)) as client:
        first = client.get("/api/v1/benchmarks/digits/leaderboard", params={"per_page": 50})
        body = first.json()
        # PostgreSQL's database lives for the test session: earlier tests' entries may share the board.
        assert body["total"] >= 300 and body["pages"] == -(-body["total"] // 50) and len(body["entries"]) == 50
        assert len(first.content) < 120_000  # one page, whatever the board's size
        pages = [body] + [
            client.get("/api/v1/benchmarks/digits/leaderboard", params={"per_page": 50, "page": p}).json()
            for p in range(2, body["pages"] + 1)
        ]
        assert client.get("/api/v1/benchmarks/digits/leaderboard", params={"per_page": 501}).status_code == 422
    served = [e for page in pages for e in page["entries"]]
    assert {page["board_version"] for page in pages} == {body["board_version"]}
    _, rows, _ = snapshot(engine, version)
    expected, _ = scratch(engine, version)
    assert rows == expected
    assert [e["id"] for e in served] == [r["id"] for r in rows]
    assert [e["test_acc_ci"] for e in served] == [r["test_acc_ci"] for r in rows]
    whole = {**body, "entries": served}
    recomputed = recompute(whole)  # the statistics from per-seed data, without app.stats
    own = [e for e in served if e["ranked_on"] == "own seeds" and e["rank"] is not None]
    assert len(own) > 200
    for e in own:
        assert e["test_acc_ci"] == pytest.approx(list(recomputed[e["id"]]["interval"]), abs=1e-9)
        assert (e["rank"], e["rank_high"]) == (recomputed[e["id"]]["rank"], recomputed[e["id"]]["rank_high"])


def test_a_board_another_process_is_computing_for_the_first_time_is_a_503(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, version = get_engine(sqlite_settings.database_url), version_of(sqlite_settings)
    board_id = stored._board_id(engine, "digits", version)
    assert stored._lease(engine, board_id, "busy", take=True)  # no snapshot yet, and someone else is on it
    monkeypatch.setattr(stored, "WAIT_S", 0.2)
    with TestClient(create_app(sqlite_settings), raise_server_exceptions=False) as client:
        res = client.get("/api/v1/benchmarks/digits/leaderboard")
        assert res.status_code == 503 and res.headers["retry-after"] == "10"
        assert "being computed" in res.json()["detail"]
        assert stored._lease(engine, board_id, "busy", take=False)
        assert client.get("/api/v1/benchmarks/digits/leaderboard").status_code == 200
