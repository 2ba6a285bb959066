"""The run lifecycle as the worker drives it, one transaction per step: claim, store epochs, finish or fail.

Every write is guarded by the run's status and its worker, so a run trains once however often its message is
delivered, and a worker that lost its run (the reaper gave it to another) cannot write into the new history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.benchmarks.recipes import capped_epochs
from app.benchmarks.registry import get_benchmark
from app.core.db.tables import RunStatus
from app.runs import repository as repo

MAX_ERROR_MESSAGE = 4000
RESULT_FIELDS = (
    "train_loss",
    "train_acc",
    "val_loss",
    "val_acc",
    "test_loss",
    "test_acc",
    "test2_loss",
    "test2_acc",
    "test2_texture_acc",
    "test_private_loss",
    "test_private_acc",
    "wall_seconds",
    "images_per_second",
    "device",
    "recipe_version",
    "code_version",
    "torch_version",
)


@dataclass(frozen=True)
class ClaimedRun:
    """What a worker needs to train a run it holds."""

    run_id: int
    submission_id: int
    seed: int
    spec: dict[str, Any]
    benchmark: str
    train_fraction: float | None
    epochs: int
    worker: str


def claim(session: Session, run_id: int, *, worker: str, device: str, max_epochs: int | None) -> ClaimedRun | None:
    """Claim a queued run (None when it is not queued: claimed elsewhere or done), fix its epoch count and mark
    its submission running."""
    if not repo.claim_run(session, run_id, worker=worker, device=device):
        return None
    run = repo.get_run(session, run_id)
    assert run is not None
    epochs = capped_epochs(get_benchmark(run.submission.benchmark).recipe, max_epochs)
    repo.set_run_fields(session, run_id, epochs_total=epochs)
    repo.refresh_submission_status(session, run.submission_id)
    submission = run.submission
    return ClaimedRun(
        run_id=run_id,
        submission_id=submission.id,
        seed=run.seed,
        spec=submission.spec,
        benchmark=submission.benchmark,
        train_fraction=submission.train_fraction,
        epochs=epochs,
        worker=worker,
    )


def store_epochs(session: Session, run: ClaimedRun, rows: list[dict[str, Any]]) -> bool:
    """Store epoch rows in order; False (nothing more may be written) when the worker no longer holds the run."""
    return all(repo.record_epoch(session, run.run_id, run.worker, row) for row in rows)


def finish(session: Session, run: ClaimedRun, result: dict[str, Any]) -> bool:
    """Store the final result; False when the run is no longer this worker's."""
    values = {key: result[key] for key in RESULT_FIELDS if key in result}
    stored = repo.finish_run(session, run.run_id, run.worker, RunStatus.FINISHED, values)
    repo.refresh_submission_status(session, run.submission_id)
    return stored


def fail(session: Session, run: ClaimedRun, kind: str, message: str) -> bool:
    """End the run as failed with a reason the submitter can act on."""
    values = {"error_kind": kind, "error_message": message[:MAX_ERROR_MESSAGE]}
    stored = repo.finish_run(session, run.run_id, run.worker, RunStatus.FAILED, values)
    repo.refresh_submission_status(session, run.submission_id)
    return stored


def heartbeat(session: Session, run: ClaimedRun) -> bool:
    """Mark the run alive; False when this worker no longer holds it."""
    return repo.touch_heartbeat(session, run.run_id, run.worker)
