"""One run from claim to stored result. The task calls this; the training loop itself knows no database."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TypeVar

import torch
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.exc import SQLAlchemyError

from app.benchmarks.registry import Benchmark, get_benchmark
from app.core.config import Settings
from app.core.db.session import session_scope
from app.core.db.tables import RunStatus
from app.submissions import repository as repo
from app.zoo.spec import SpecError, parse_spec
from workers.training.loop import train
from workers.training.results import EpochMetrics, TrainingFailed

log = logging.getLogger(__name__)
T = TypeVar("T")


class RunLost(Exception):
    """This worker no longer holds the run: the reaper took it for dead and gave it to another worker.
    Training stops; nothing more is written (the other worker's history must not be mixed with ours)."""


class Heartbeat:
    """A daemon thread that touches runs.heartbeat_at every ``interval`` seconds while a run trains, so a long
    epoch is not taken for a dead worker. A failed write (database blip) is logged and retried on the next
    beat; a write that finds the run no longer ours sets ``lost``."""

    def __init__(
        self, url: str, run_id: int, worker: str, interval: float, *, hard_limit: tuple[float, int] | None = None
    ) -> None:
        self._url, self._run_id, self._worker, self._interval = url, run_id, worker, interval
        # (seconds, submission id): the solo pool does not enforce Celery's time limits, so the heartbeat
        # does: past the hard limit it ends the run as failed 'timeout' and stops beating.
        self._hard_limit = hard_limit
        self._t0 = time.monotonic()
        self._stop = threading.Event()
        self.lost = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-run-{run_id}", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            if self._hard_limit and time.monotonic() - self._t0 > self._hard_limit[0]:
                self._expire(*self._hard_limit)
                return
            try:
                with session_scope(self._url) as session:
                    owned = repo.touch_heartbeat(session, self._run_id, self._worker)
            except SQLAlchemyError as exc:
                log.warning("heartbeat of run %s not written (%s); retrying", self._run_id, type(exc).__name__)
                continue
            if not owned:
                self.lost.set()
                return

    def _expire(self, limit_s: float, submission_id: int) -> None:
        """A run stuck past the hard limit (a hung kernel: the loop's own soft limit is checked between steps
        and never came). The training thread cannot be interrupted; the run is ended so that it is not
        requeued forever, and whatever the thread writes later is refused (it no longer holds the run)."""
        self.lost.set()
        message = f"the run exceeded the hard time limit of {limit_s:.0f} s (stuck inside a training step)"
        log.error("run %s: %s", self._run_id, message)
        try:
            with session_scope(self._url) as session:
                values = {"error_kind": "timeout", "error_message": message}
                if repo.finish_run(session, self._run_id, self._worker, RunStatus.FAILED, values):
                    repo.refresh_submission_status(session, submission_id)
        except SQLAlchemyError:  # no heartbeat follows: the reaper requeues the run instead
            log.exception("run %s: could not store the hard time-out", self._run_id)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self._interval + 5)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def pick_device(requested: str) -> str:
    if requested != "auto":
        return requested
    return "cuda" if torch.cuda.is_available() else "cpu"


def execute_run(settings: Settings, run_id: int) -> str:
    """Claim, train, store. Returns what happened: 'skipped', 'finished' or 'failed'. Safe to call twice."""
    me, device = worker_name(), pick_device(settings.device)
    url = settings.database_url
    claimed = _with_db_retries(
        lambda: _claim(settings, run_id, me, device), settings.dead_after, f"claiming run {run_id}"
    )
    if claimed is None:
        log.info("run %s is not queued (already claimed or done): skipping", run_id)
        return "skipped"
    raw_spec, benchmark, seed, submission_id, train_fraction = claimed

    # Epochs not yet in the database. A database blip must not kill a run that trains fine: the write is
    # retried at the next epoch and with the final result (the history stays gap-free). If the database stays
    # away longer than the dead-after timeout, the reaper requeues the run and this worker stops at its next
    # write (RunLost).
    pending: list[dict[str, Any]] = []

    def write_pending(session: Any) -> None:
        while pending:
            if not repo.record_epoch(session, run_id, me, pending[0]):
                raise RunLost(f"run {run_id} is no longer held by {me}")
            pending.pop(0)

    def on_epoch(metrics: EpochMetrics) -> None:
        pending.append({k: v for k, v in asdict(metrics).items() if k != "epochs"})
        if beat.lost.is_set():
            raise RunLost(f"run {run_id} is no longer held by {me}")
        written = list(pending)
        try:
            with session_scope(url) as s:
                write_pending(s)
        except SQLAlchemyError as exc:
            pending[:] = written  # the transaction rolled back: none of them is stored
            log.warning("run %s: epoch metrics not stored yet (%s); will retry", run_id, type(exc).__name__)

    try:
        spec = parse_spec(raw_spec)
    except SpecError as exc:  # stored before a zoo change made it invalid: say so, do not crash the worker
        return _store_failure(settings, run_id, submission_id, me, "invalid_spec", str(exc))
    hard_limit = (float(settings.run_hard_time_limit_s), submission_id)
    beat = Heartbeat(url, run_id, me, settings.heartbeat_s, hard_limit=hard_limit)
    try:
        with beat:
            result = train(
                spec,
                benchmark,
                seed,
                device=device,
                data_dir=settings.data_dir,
                on_epoch=on_epoch,
                max_epochs=settings.max_epochs,
                time_limit_s=float(settings.run_soft_time_limit_s),
                train_fraction=train_fraction,
            )
    except RunLost as exc:
        log.warning("%s: stopping without writing", exc)
        return "skipped"
    except TrainingFailed as failure:
        return _store_failure(settings, run_id, submission_id, me, failure.kind, failure.message)
    except SoftTimeLimitExceeded:  # Celery's soft limit (pools that enforce it); before `except Exception`
        message = f"the run exceeded the time limit of {settings.run_soft_time_limit_s} s"
        return _store_failure(settings, run_id, submission_id, me, "timeout", message)
    except Exception as exc:  # a bug or a fault we did not foresee: record it, never lose the run silently
        log.exception("run %s failed", run_id)
        return _store_failure(settings, run_id, submission_id, me, "error", f"{type(exc).__name__}: {exc}")

    values = {
        key: getattr(result, key)
        for key in (
            "train_loss",
            "train_acc",
            "val_loss",
            "val_acc",
            "test_loss",
            "test_acc",
            "test2_loss",
            "test2_acc",
            "test2_texture_acc",
            "wall_seconds",
            "images_per_second",
            "device",
            "recipe_version",
            "code_version",
            "torch_version",
        )
    }

    def store() -> bool:
        with session_scope(url) as session:
            try:
                write_pending(session)
            except RunLost:
                return False
            stored = repo.finish_run(session, run_id, me, RunStatus.FINISHED, values)
            repo.refresh_submission_status(session, submission_id)
            return stored

    written = list(pending)

    def store_once() -> bool:
        pending[:] = written  # a rolled-back try stored nothing
        return store()

    return "finished" if _with_db_retries(store_once, settings.dead_after, f"storing run {run_id}") else "skipped"


def _claim(
    settings: Settings, run_id: int, me: str, device: str
) -> tuple[Any, Benchmark, int, int, float | None] | None:
    """One transaction: claim the run, read what training needs, mark the submission running."""
    with session_scope(settings.database_url) as session:
        if not repo.claim_run(session, run_id, worker=me, device=device):
            return None
        run = repo.get_run(session, run_id)
        assert run is not None
        benchmark = get_benchmark(run.submission.benchmark)
        epochs = min(benchmark.recipe.epochs, settings.max_epochs or benchmark.recipe.epochs)
        repo.set_run_fields(session, run_id, epochs_total=epochs)
        repo.refresh_submission_status(session, run.submission_id)
        return run.submission.spec, benchmark, run.seed, run.submission_id, run.submission.train_fraction


def _with_db_retries(write: Callable[[], T], budget_s: float, what: str) -> T:
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


def _store_failure(settings: Settings, run_id: int, submission_id: int, me: str, kind: str, message: str) -> str:
    def store() -> None:
        with session_scope(settings.database_url) as session:
            values = {"error_kind": kind, "error_message": message[:4000]}
            repo.finish_run(session, run_id, me, RunStatus.FAILED, values)
            repo.refresh_submission_status(session, submission_id)

    _with_db_retries(store, settings.dead_after, f"storing the failure of run {run_id}")
    return "failed"
