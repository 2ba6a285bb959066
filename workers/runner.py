"""One run from claim to stored result. The task calls this; the training loop itself knows no database."""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import asdict

import torch

from app.benchmarks.registry import get_benchmark
from app.config import Settings
from app.db.session import session_scope
from app.db.tables import RunStatus
from app.submissions import repository as repo
from app.zoo.spec import SpecError, parse_spec
from workers.training.loop import train
from workers.training.results import EpochMetrics, TrainingFailed

log = logging.getLogger(__name__)


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
    with session_scope(url) as session:
        if not repo.claim_run(session, run_id, worker=me, device=device):
            log.info("run %s is not queued (already claimed or done): skipping", run_id)
            return "skipped"
        run = repo.get_run(session, run_id)
        assert run is not None
        raw_spec, slug, seed, submission_id = run.submission.spec, run.submission.benchmark, run.seed, run.submission_id
        benchmark = get_benchmark(slug)
        epochs = min(benchmark.recipe.epochs, settings.max_epochs or benchmark.recipe.epochs)
        repo.set_run_fields(session, run_id, epochs_total=epochs)
        repo.refresh_submission_status(session, submission_id)

    def on_epoch(metrics: EpochMetrics) -> None:
        values = {k: v for k, v in asdict(metrics).items() if k != "epochs"}
        with session_scope(url) as s:
            repo.record_epoch(s, run_id, me, values)

    try:
        spec = parse_spec(raw_spec)
    except SpecError as exc:  # stored before a zoo change made it invalid: say so, do not crash the worker
        return _store_failure(settings, run_id, submission_id, me, "invalid_spec", str(exc))
    try:
        result = train(
            spec,
            benchmark,
            seed,
            device=device,
            data_dir=settings.data_dir,
            on_epoch=on_epoch,
            max_epochs=settings.max_epochs,
            time_limit_s=float(settings.run_soft_time_limit_s),
        )
    except TrainingFailed as failure:
        return _store_failure(settings, run_id, submission_id, me, failure.kind, failure.message)
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
            "wall_seconds",
            "images_per_second",
            "device",
            "recipe_version",
            "code_version",
            "torch_version",
        )
    }
    with session_scope(url) as session:
        stored = repo.finish_run(session, run_id, me, RunStatus.FINISHED, values)
        repo.refresh_submission_status(session, submission_id)
    return "finished" if stored else "skipped"


def _store_failure(settings: Settings, run_id: int, submission_id: int, me: str, kind: str, message: str) -> str:
    with session_scope(settings.database_url) as session:
        repo.finish_run(session, run_id, me, RunStatus.FAILED, {"error_kind": kind, "error_message": message[:4000]})
        repo.refresh_submission_status(session, submission_id)
    return "failed"
