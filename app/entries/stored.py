"""Stored boards: a board is computed when what it shows changes, not when it is read.

Every change that moves a board (a run that ends, an entry hidden or deleted, seeds added, a noise reference
frozen) writes a mark in its own transaction (``app.core.db.boardmarks``). A refresher (``BoardRefresher``: a
thread in every web process) recomputes marked boards one at a time per board (a lease on the board's row),
stores the snapshot (``boards`` + ``board_entries``, replaced in one transaction, ``version`` + 1) and deletes
exactly the marks it read before computing, so a change that commits meanwhile leaves the board marked.

Reads serve the stored snapshot and never wait for a large board's recomputation: they show it with the time it
was computed. A small board (≤ ``INLINE_MAX`` entries: milliseconds to compute) that is marked, and a board with
no snapshot yet (a fresh database), is computed by the read that finds it, and stored."""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.db.tables import BoardEntry, BoardMark, StoredBoard, Submission, utcnow
from app.core.errors import ServiceUnavailable
from app.entries.board import Board, board_for_version, on_board
from app.entries.entry import Entry, build_entry, standalone_notes
from app.entries.noise import BoardReference
from app.stats.noise import NoiseReference

log = logging.getLogger(__name__)

INLINE_MAX = 300  # a marked board up to this size is recomputed by the read that finds it
LEASE = timedelta(seconds=300)
WAIT_S = 30.0  # the longest a read waits for another process's first snapshot of a board
WAIT_SMALL_S = 20.0  # … and for its recomputation of a small one (milliseconds, unless that process is stuck)
_CHUNK = 500

Extra = Callable[[Board, str, str], dict[str, Any]]
EXTRAS: dict[str, Extra] = {}
"""Summaries of the whole board stored with each snapshot, by name, registered by the features that show them
(the families' fits): computed once per snapshot, not once per page view."""


def register_extra(name: str, compute: Extra) -> None:
    EXTRAS[name] = compute


@dataclass(frozen=True)
class StoredView:
    """A stored snapshot's numbers (its rows are read by the query functions below)."""

    id: int
    benchmark: str
    recipe_version: str
    version: int
    computed_at: datetime
    compute_seconds: float
    n_entries: int
    meta: dict[str, Any]
    stale: bool  # marked since it was computed: a newer one is on its way

    @property
    def reference(self) -> BoardReference:
        frozen = self.meta["frozen_at"]
        return BoardReference(
            NoiseReference.from_dict(self.meta["reference"]),
            self.meta["status"],
            datetime.fromisoformat(frozen) if frozen else None,
            list(self.meta["entry_ids"]),
        )

    @property
    def etag(self) -> str:
        return f"{self.id}-{self.version}"


# Writing a snapshot -------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """numpy scalars (from app.stats) as Python numbers in the stored JSON."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON: {type(value).__name__}")


def entry_data(entry: Entry) -> dict[str, Any]:
    """An entry as stored and as the API returns it (JSON types)."""
    data: dict[str, Any] = json.loads(json.dumps(entry.to_dict(), default=_plain))
    return data


def entry_from_data(data: dict[str, Any]) -> Entry:
    values = dict(data)
    values["created_at"] = datetime.fromisoformat(values["created_at"])
    ci = values.get("test_acc_ci")
    values["test_acc_ci"] = (ci[0], ci[1]) if ci else None
    return Entry(**values)


def _meta(board: Board, slug: str, version: str) -> dict[str, Any]:
    ref = board.reference
    return {
        "reference": ref.ref.to_dict(),
        "status": ref.status,
        "frozen_at": ref.frozen_at.isoformat() if ref.frozen_at else None,
        "entry_ids": ref.entry_ids,
        "description": ref.describe(),
        "covers": board.covers,
        "level": board.level,
        "n_complete": board.n_complete,
        "n_test": board.n_test,
        "n_scored": sum(1 for e in board.entries if e.test_acc_mean is not None),
        "families": sorted({e.family for e in board.entries}),
        "mixers": sorted({e.mixer for e in board.entries if e.mixer}),
        "frontier": [i for i, e in enumerate(board.entries) if e.on_frontier],  # positions: read by primary key
        "extras": {},  # filled in after the snapshot is stored (``_add_extras``)
    }


def _row(board_id: int, position: int, entry: Entry) -> dict[str, Any]:
    search = " ".join(part for part in (entry.name, entry.user, entry.family, entry.mixer or "") if part).lower()
    return {
        "board_id": board_id,
        "position": position,
        "entry_id": entry.id,
        "name": entry.name,
        "family": entry.family,
        "mixer": entry.mixer,
        "params": entry.params,
        "macs": entry.macs,
        "test_acc_mean": entry.test_acc_mean,
        "created_at": entry.created_at,
        "on_frontier": entry.on_frontier,
        "search": search,
        "data": json.dumps(entry.to_dict(), default=_plain, separators=(",", ":")),
    }


def _store(session: Session, board_id: int, board: Board, meta: dict[str, Any], marks: list[int], took: float) -> int:
    """Replace the board's rows and numbers (version + 1) and delete the marks taken in; returns the version."""
    session.execute(delete(BoardEntry).where(BoardEntry.board_id == board_id))
    rows = [_row(board_id, i, e) for i, e in enumerate(board.entries)]
    _insert_rows(session, rows)
    session.execute(
        update(StoredBoard)
        .where(StoredBoard.id == board_id)
        .values(
            version=StoredBoard.version + 1,
            computed_at=utcnow(),
            compute_seconds=took,
            n_entries=len(rows),
            meta=json.dumps(meta, default=_plain),
            lease_until=None,
            lease_owner=None,
        )
    )
    for start in range(0, len(marks), _CHUNK):
        session.execute(delete(BoardMark).where(BoardMark.id.in_(marks[start : start + _CHUNK])))
    return int(session.scalar(select(StoredBoard.version).where(StoredBoard.id == board_id)) or 0)


def _add_extras(bind: Any, key: tuple[int, int, str, str], board: Board, meta: dict[str, Any]) -> None:
    """The whole-board summaries, stored beside the snapshot they were computed from once it is out (a newer
    snapshot is left alone: its own refresh adds its own)."""
    if not EXTRAS:
        return
    board_id, version, slug, recipe_version = key
    meta = {**meta, "extras": {name: compute(board, slug, recipe_version) for name, compute in EXTRAS.items()}}
    with Session(bind=bind) as session, session.begin():
        session.execute(
            update(StoredBoard)
            .where(StoredBoard.id == board_id, StoredBoard.version == version)
            .values(meta=json.dumps(meta, default=_plain))
        )


_COLUMNS = tuple(c.name for c in BoardEntry.__table__.columns)


def _insert_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """The snapshot's rows in bulk: COPY on PostgreSQL (a tenth of the cost of INSERTs at 10,000 rows), the
    driver's executemany elsewhere."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY board_entries ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in _COLUMNS])
        return
    for start in range(0, len(rows), 5000):
        session.execute(insert(BoardEntry), rows[start : start + 5000])


def _board_id(bind: Any, slug: str, version: str) -> int:
    """The board's row, created (without a snapshot) when it has none."""
    key = (StoredBoard.benchmark == slug, StoredBoard.recipe_version == version)
    with Session(bind=bind) as session:
        found = session.scalar(select(StoredBoard.id).where(*key))
    if found is not None:
        return found
    try:
        with Session(bind=bind) as session, session.begin():
            row = StoredBoard(benchmark=slug, recipe_version=version, version=0, n_entries=0, meta="{}")
            session.add(row)
            session.flush()
            return row.id
    except IntegrityError:  # another process created it first
        with Session(bind=bind) as session:
            return int(session.scalar(select(StoredBoard.id).where(*key)) or 0)


def _lease(bind: Any, board_id: int, owner: str, take: bool) -> bool:
    """Take the board's lease (False: another process holds it), or give it back."""
    now = utcnow()
    with Session(bind=bind) as session, session.begin():
        query = update(StoredBoard).where(StoredBoard.id == board_id)
        if take:
            free = or_(StoredBoard.lease_until.is_(None), StoredBoard.lease_until < now)
            query = query.where(free).values(lease_until=now + LEASE, lease_owner=owner[:64])
        else:
            query = query.where(StoredBoard.lease_owner == owner[:64]).values(lease_until=None, lease_owner=None)
        return bool(session.execute(query).rowcount)  # type: ignore[attr-defined]


_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_resume = False


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a board is built. A 10,000-entry board allocates some
    200,000 objects that all live until it is stored, and the collector, triggered by the allocations, walks
    them again and again: 0.4 s of a 1 s recomputation, freeing nothing (a board holds no reference cycles;
    reference counting frees it). The collector resumes when the last thread that paused it is done, unless
    someone else had turned it off."""
    global _gc_pausers, _gc_resume
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_resume = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_resume:
                gc.enable()


def refresh(bind: Any, slug: str, version: str, owner: str) -> bool:
    """Recompute the board and store it; False when another process is recomputing it."""
    board_id = _board_id(bind, slug, version)
    if not _lease(bind, board_id, owner, take=True):
        return False
    with gc_paused():  # the board's objects live until it is stored and summarised
        try:
            board, meta, marks, took = _compute(bind, slug, version)
            with Session(bind=bind) as session, session.begin():
                stored_version = _store(session, board_id, board, meta, marks, took)
        except BaseException:
            _lease(bind, board_id, owner, take=False)
            raise
        started = time.thread_time()
        _add_extras(bind, (board_id, stored_version, slug, version), board, meta)
    extras = time.thread_time() - started
    log.info(
        "board %s/%s: %d entries, %.2f s of CPU (summaries %.2f s)", slug, version, len(board.entries), took, extras
    )
    return True


def _compute(bind: Any, slug: str, version: str) -> tuple[Board, dict[str, Any], list[int], float]:
    """The board, its numbers, the marks it answers (read before the data they mark) and its CPU seconds."""
    with Session(bind=bind) as session:
        key = (BoardMark.benchmark == slug, BoardMark.recipe_version == version)
        marks = list(session.scalars(select(BoardMark.id).where(*key)))
        started = time.thread_time()  # CPU seconds of this thread: what recomputing costs, whatever the load
        board = board_for_version(session, slug, version)
        meta = _meta(board, slug, version)
        return board, meta, marks, time.thread_time() - started


# Reading a snapshot -------------------------------------------------------------------------------------------

_VIEW_COLUMNS = (
    StoredBoard.id, StoredBoard.version, StoredBoard.computed_at, StoredBoard.compute_seconds, StoredBoard.n_entries,
    StoredBoard.meta,
)  # fmt: skip


def _state(session: Session, slug: str, version: str) -> tuple[Any, bool]:
    row = session.execute(
        select(*_VIEW_COLUMNS).where(StoredBoard.benchmark == slug, StoredBoard.recipe_version == version)
    ).first()
    marked = session.scalar(select(exists().where(BoardMark.benchmark == slug, BoardMark.recipe_version == version)))
    return row, bool(marked)


def _needs_computing(row: Any, marked: bool) -> bool:
    stored = row is not None and row.version > 0
    return not stored or (marked and row.n_entries <= INLINE_MAX)


def current(session: Session, slug: str, version: str) -> StoredView:
    """The board's stored snapshot. A large board is served as stored, even when marked (its refresher is on
    it); a small marked one, or one with no snapshot yet, is computed here (or, when another process is
    computing it, waited for: a few milliseconds for a small board)."""
    row, marked = _state(session, slug, version)
    deadline = time.monotonic() + (WAIT_SMALL_S if row is not None and row.version > 0 else WAIT_S)
    while _needs_computing(row, marked):
        if refresh(session.get_bind(), slug, version, owner="read"):
            row, marked = _state(session, slug, version)
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)  # another process holds the lease and is computing this very board
        row, marked = _state(session, slug, version)
    if row is None or row.version == 0:
        raise ServiceUnavailable(f"the {slug} board is being computed for the first time; try again shortly", 10)
    computed = row.computed_at if row.computed_at.tzinfo else row.computed_at.replace(tzinfo=UTC)  # SQLite: naive
    return StoredView(
        row.id, slug, version, row.version, computed, row.compute_seconds or 0.0, row.n_entries,
        json.loads(row.meta), marked,
    )  # fmt: skip


@dataclass(frozen=True)
class BoardQuery:
    """Filters, order and page of a board's rows (the page's and the API's query string)."""

    family: str | None = None
    mixer: str | None = None
    q: str | None = None
    pmin: float | None = None
    pmax: float | None = None
    sort: str = "rank"
    dir: str | None = None  # None: the column's natural direction
    page: int = 1
    per_page: int = 50

    @property
    def filtered(self) -> bool:
        return bool(self.family or self.mixer or self.q or self.pmin is not None or self.pmax is not None)


SORTS: dict[str, Any] = {
    "rank": BoardEntry.position,
    "test": BoardEntry.test_acc_mean,
    "params": BoardEntry.params,
    "macs": BoardEntry.macs,
    "name": BoardEntry.name,
    "family": BoardEntry.family,
    "date": BoardEntry.created_at,
}
ASCENDING = {"rank", "name", "family"}  # the others read best or newest first


def _where(view: StoredView, query: BoardQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [BoardEntry.board_id == view.id]
    if query.family:
        where.append(BoardEntry.family == query.family)
    if query.mixer:
        where.append(BoardEntry.mixer == query.mixer)
    if query.q:
        pattern = query.q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(BoardEntry.search.like(f"%{pattern}%", escape="\\"))
    if query.pmin is not None:
        where.append(BoardEntry.params >= query.pmin)
    if query.pmax is not None:
        where.append(BoardEntry.params <= query.pmax)
    return where


def _order(query: BoardQuery) -> list[Any]:
    column = SORTS.get(query.sort, BoardEntry.position)
    ascending = query.dir == "asc" if query.dir else query.sort in ASCENDING
    first = column.asc() if ascending else column.desc()
    return [first.nulls_last(), BoardEntry.position]


def count(session: Session, view: StoredView, query: BoardQuery) -> int:
    if not query.filtered:
        return view.n_entries
    return int(session.scalar(select(func.count()).select_from(BoardEntry).where(*_where(view, query))) or 0)


def page_rows(session: Session, view: StoredView, query: BoardQuery) -> list[dict[str, Any]]:
    """One page of rows, as the API shows them."""
    sql = (
        select(BoardEntry.data)
        .where(*_where(view, query))
        .order_by(*_order(query))
        .limit(query.per_page)
        .offset((query.page - 1) * query.per_page)
    )
    return [json.loads(data) for data in session.scalars(sql)]


def iter_rows(bind: Any, view: StoredView, query: BoardQuery) -> Iterator[dict[str, Any]]:
    """Every matching row, in order, streamed from one statement (one consistent snapshot) in a session of its
    own: a streamed response outlives the request's session."""
    sql = select(BoardEntry.data).where(*_where(view, query)).order_by(*_order(query))
    with Session(bind=bind) as session:
        for data in session.execute(sql.execution_options(yield_per=1000)).scalars():
            yield json.loads(data)


def frontier_rows(session: Session, view: StoredView) -> list[dict[str, Any]]:
    """The frontier's rows, cheapest first (by their positions: a few rows read by key, whatever the board's size)."""
    where = BoardEntry.position.in_(view.meta["frontier"]) if "frontier" in view.meta else BoardEntry.on_frontier
    sql = select(BoardEntry.data).where(BoardEntry.board_id == view.id, where)
    return [json.loads(data) for data in session.scalars(sql.order_by(BoardEntry.macs, BoardEntry.position))]


def all_rows(session: Session, view: StoredView, query: BoardQuery | None = None) -> list[dict[str, Any]]:
    sql = select(BoardEntry.data).where(*_where(view, query or BoardQuery())).order_by(BoardEntry.position)
    return [json.loads(data) for data in session.scalars(sql)]


def entry_row(session: Session, view: StoredView, entry_id: int) -> dict[str, Any] | None:
    sql = select(BoardEntry.data).where(BoardEntry.board_id == view.id, BoardEntry.entry_id == entry_id)
    data = session.scalar(sql)
    return json.loads(data) if data is not None else None


def entry_of(session: Session, submission: Submission) -> Entry:
    """A submission's entry as its board shows it (interval, rank, lineage and notes in the board's context); an
    entry on no board (hidden by an admin) is built on its own, with the notes its own seeds support."""
    if on_board(submission):
        data = entry_row(session, current(session, submission.benchmark, submission.recipe_version), submission.id)
        if data is not None:
            return entry_from_data(data)
    entry = build_entry(submission)
    entry.notes = standalone_notes(entry)
    return entry


def entries(session: Session, view: StoredView) -> list[Entry]:
    return [entry_from_data(d) for d in all_rows(session, view)]


# The refresher ------------------------------------------------------------------------------------------------


def marked_boards(session: Session) -> list[tuple[str, str]]:
    return [(b, v) for b, v in session.execute(select(BoardMark.benchmark, BoardMark.recipe_version).distinct())]


def refresh_marked(bind: Any, owner: str) -> int:
    """One pass: every marked board this process can lease, recomputed and stored. Returns how many."""
    with Session(bind=bind) as session:
        keys = marked_boards(session)
    done = 0
    for slug, version in keys:
        try:
            done += refresh(bind, slug, version, owner)
        except Exception:  # one board's failure (an unknown benchmark, a database blip) must not stop the others
            log.exception("refreshing board %s/%s failed", slug, version)
    return done


class BoardRefresher:
    """A daemon thread that refreshes marked boards every ``interval`` seconds: the marks of that interval are
    taken in one recomputation (debounced), and the lease keeps two processes off the same board."""

    def __init__(self, bind: Any, owner: str, interval: float = 1.0) -> None:
        self._bind, self._owner, self._interval = bind, owner, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="board-refresher", daemon=True)

    def start(self) -> BoardRefresher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                refresh_marked(self._bind, self._owner)
            except Exception:  # a database blip: try again next interval
                log.exception("board refresher pass failed")
