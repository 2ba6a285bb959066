"""One run from claim to stored result, in named steps: claim → build → train (epoch rows stored as they come,
a heartbeat beside) → record. The task calls ``execute_run``; the training itself knows no database."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

import torch
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.exc import SQLAlchemyError

from app.benchmarks.registry import get_benchmark
from app.core.config import Settings
from app.core.db.session import session_scope
from app.runs import lifecycle
from app.runs.lifecycle import ClaimedRun
from app.zoo.spec import ArchSpec, SpecError, parse_spec
from workers.training.results import EpochMetrics, TrainingFailed, TrainResult
from workers.training.train_spec import train

log = logging.getLogger(__name__)
T = TypeVar("T")


class RunLost(Exception):
    """This worker no longer holds the run: the reaper took it for dead and gave it to another worker.
    Training stops; nothing more is written (the other worker's history must not be mixed with ours)."""


@dataclass(frozen=True)
class Failure:
    kind: str
    message: str


TrainOutcome = TrainResult | Failure | RunLost


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def pick_device(requested: str) -> str:
    if requested != "auto":
        return requested
    return "cuda" if torch.cuda.is_available() else "cpu"


def execute_run(settings: Settings, run_id: int) -> str:
    """Claim, build, train, record. Returns 'skipped', 'finished' or 'failed'. Safe to call twice."""
    run = claim(settings, run_id)
    if run is None:
        log.info("run %s is not queued (already claimed or done): skipping", run_id)
        return "skipped"
    try:
        spec = parse_spec(run.spec)
    except SpecError as exc:  # stored before a zoo change made it invalid: say so, do not crash the worker
        return record(settings, run, Failure("invalid_spec", str(exc)), EpochSink(settings, run))
    sink = EpochSink(settings, run)
    return record(settings, run, train_run(settings, run, spec, sink), sink)


def claim(settings: Settings, run_id: int) -> ClaimedRun | None:
    """One transaction: claim the run, read what training needs, mark the submission running."""
    me, device = worker_name(), pick_device(settings.device)

    def attempt() -> ClaimedRun | None:
        with session_scope(settings.database_url) as session:
            return lifecycle.claim(session, run_id, worker=me, device=device, max_epochs=settings.max_epochs)

    return with_db_retries(attempt, settings.dead_after, f"claiming run {run_id}")


def train_run(settings: Settings, run: ClaimedRun, spec: ArchSpec, sink: EpochSink) -> TrainOutcome:
    """Train with a heartbeat beside; every way it can end becomes an outcome (nothing escapes)."""
    beat = Heartbeat(settings, run, hard_limit_s=float(settings.run_hard_time_limit_s))
    sink.lost = beat.lost
    try:
        with beat:
            return train(
                spec,
                get_benchmark(run.benchmark),
                run.seed,
                device=pick_device(settings.device),
                data_dir=settings.data_dir,
                on_epoch=sink,
                max_epochs=settings.max_epochs,
                time_limit_s=float(settings.run_soft_time_limit_s),
                train_fraction=run.train_fraction,
            )
    except RunLost as exc:
        return exc
    except TrainingFailed as failure:
        if failure.kind == "stopped":  # the run is no longer ours to write (lost, or its submission deleted)
            return RunLost(f"run {run.run_id} stopped: {failure.message}")
        return Failure(failure.kind, failure.message)
    except SoftTimeLimitExceeded:  # Celery's soft limit (pools that enforce it); before `except Exception`
        return Failure("timeout", f"the run exceeded the time limit of {settings.run_soft_time_limit_s} s")
    except Exception as exc:  # a bug or a fault we did not foresee: record it, never lose the run silently
        log.exception("run %s failed", run.run_id)
        return Failure("error", f"{type(exc).__name__}: {exc}")


def record(settings: Settings, run: ClaimedRun, outcome: TrainOutcome, sink: EpochSink) -> str:
    """Store the outcome once, through database blips (the epoch rows not yet stored go first)."""
    if isinstance(outcome, RunLost):
        log.warning("%s: stopping without writing", outcome)
        return "skipped"

    def store() -> bool:
        rows = sink.pending()
        with session_scope(settings.database_url) as session:
            if not lifecycle.store_epochs(session, run, rows):
                return False
            if isinstance(outcome, Failure):
                stored = lifecycle.fail(session, run, outcome.kind, outcome.message)
            else:
                stored = lifecycle.finish(session, run, asdict(outcome))
        sink.stored(len(rows))
        return stored

    stored = with_db_retries(store, settings.dead_after, f"storing run {run.run_id}")
    if isinstance(outcome, Failure):
        return "failed"
    return "finished" if stored else "skipped"


class EpochSink:
    """The ``on_epoch`` callback: epoch rows on their way to the database. A database blip must not kill a run
    that trains fine: rows that could not be stored stay pending and go with the next epoch or the final result
    (the history stays gap-free). If the database stays away longer than the dead-after timeout, the reaper
    requeues the run, and the next write finds it no longer ours (``RunLost``)."""

    def __init__(self, settings: Settings, run: ClaimedRun) -> None:
        self._url = settings.database_url
        self._run = run
        self._pending: list[dict[str, Any]] = []
        self.lost = threading.Event()

    def __call__(self, metrics: EpochMetrics) -> None:
        self._pending.append({k: v for k, v in asdict(metrics).items() if k != "epochs"})
        if self.lost.is_set():
            raise RunLost(f"run {self._run.run_id} is no longer held by {self._run.worker}")
        rows = self.pending()
        try:
            with session_scope(self._url) as session:
                if not lifecycle.store_epochs(session, self._run, rows):
                    raise RunLost(f"run {self._run.run_id} is no longer held by {self._run.worker}")
        except SQLAlchemyError as exc:  # rolled back: none of them is stored
            log.warning("run %s: epoch metrics not stored yet (%s); will retry", self._run.run_id, type(exc).__name__)
            return
        self.stored(len(rows))

    def pending(self) -> list[dict[str, Any]]:
        return list(self._pending)

    def stored(self, count: int) -> None:
        """The first ``count`` pending rows were committed."""
        del self._pending[:count]


class Heartbeat:
    """A daemon thread that touches runs.heartbeat_at every ``settings.heartbeat_s`` while a run trains, so a
    long epoch is not taken for a dead worker. A failed write (database blip) is logged and retried on the next
    beat; a write that finds the run no longer ours sets ``lost``.

    The solo pool does not enforce Celery's time limits, so the heartbeat does: past ``hard_limit_s`` it ends
    the run as failed 'timeout' and stops beating."""

    def __init__(self, settings: Settings, run: ClaimedRun, *, hard_limit_s: float | None = None) -> None:
        self._url, self._run, self._interval = settings.database_url, run, settings.heartbeat_s
        self._hard_limit_s = hard_limit_s
        self._t0 = time.monotonic()
        self._stop = threading.Event()
        self.lost = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-run-{run.run_id}", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            if self._hard_limit_s is not None and time.monotonic() - self._t0 > self._hard_limit_s:
                self._expire(self._hard_limit_s)
                return
            try:
                with session_scope(self._url) as session:
                    owned = lifecycle.heartbeat(session, self._run)
            except SQLAlchemyError as exc:
                log.warning("heartbeat of run %s not written (%s); retrying", self._run.run_id, type(exc).__name__)
                continue
            if not owned:
                self.lost.set()
                return

    def _expire(self, limit_s: float) -> None:
        """A run stuck past the hard limit (a hung kernel: the loop's own soft limit is checked between steps
        and never came). The training thread cannot be interrupted; the run is ended so that it is not
        requeued forever, and whatever the thread writes later is refused (it no longer holds the run)."""
        self.lost.set()
        message = f"the run exceeded the hard time limit of {limit_s:.0f} s (stuck inside a training step)"
        log.error("run %s: %s", self._run.run_id, message)
        try:
            with session_scope(self._url) as session:
                lifecycle.fail(session, self._run, "timeout", message)
        except SQLAlchemyError:  # no heartbeat follows: the reaper requeues the run instead
            log.exception("run %s: could not store the hard time-out", self._run.run_id)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self._interval + 5)


def with_db_retries(write: Callable[[], T], budget_s: float, what: str) -> T:
    """Retry a database write through a blip, for at most ``budget_s`` (the dead-after timeout: past it the
    reaper has requeued the run anyway). The last error propagates; the run then stays 'running' without
    heartbeats and the reaper requeues it."""
    deadline, delay = time.monotonic() + budget_s, 0.5
    while True:
        try:
            return write()
        except SQLAlchemyError as exc:
            if time.monotonic() + delay > deadline:
                raise
            log.warning("%s: %s; retrying in %.1f s", what, type(exc).__name__, delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
