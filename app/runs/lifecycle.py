"""The run lifecycle as the worker drives it, one transaction per step: claim, store epochs, finish or fail.

Every write is guarded by the run's status and its worker, so a run trains once however often its message is
delivered, and a worker that lost its run (the reaper gave it to another) cannot write into the new history.

A worker woken by a message claims the fair-next queued run (``peek_next`` then ``claim_candidate``; the order
is ``app.core.queue.fairness``), and with it the submission's other queued seeds when its engine can train them as
one batched model. A run that ends settles its quota charge with the seconds it used: a failure the spec caused
(time-out, out of memory, divergence, an error) is charged like a finished run; one the platform caused
(``PLATFORM_FAULTS``) is refunded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.benchmarks.downstream import TRANSFER_KINDS, get_task, tasks_for
from app.benchmarks.recipes import capped_epochs
from app.benchmarks.registry import get_benchmark
from app.core.db.tables import PLATFORM_FAULTS, Run, RunKind, RunStatus
from app.core.queue import fairness
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
    "weights_key",
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
    kind: str = RunKind.UPSTREAM
    task: str = ""  # a downstream run's task (``app.benchmarks.downstream``)
    parent_weights_key: str | None = None  # where the upstream run's weights are, for a downstream run
    fingerprint: str | None = None  # the submission's functional fingerprint (stored with the weights)


def claim(session: Session, run_id: int, *, worker: str, device: str, max_epochs: int | None) -> ClaimedRun | None:
    """Claim a queued run (None when it is not queued: claimed elsewhere or done), fix its epoch count and mark
    its submission running."""
    if not repo.claim_run(session, run_id, worker=worker, device=device):
        return None
    run = repo.get_run(session, run_id)
    assert run is not None
    claimed = _held(session, run, worker, max_epochs)
    repo.refresh_submission_status(session, run.submission_id)
    return claimed


def _held(session: Session, run: Run, worker: str, max_epochs: int | None) -> ClaimedRun:
    """A run this worker just claimed: its epoch count fixed, and what training needs."""
    if run.kind == RunKind.UPSTREAM:
        recipe = get_benchmark(run.submission.benchmark).recipe
    else:
        recipe = get_task(run.task).recipe(run.kind)
    epochs = capped_epochs(recipe, max_epochs)
    repo.set_run_fields(session, run.id, epochs_total=epochs)
    submission = run.submission
    parent_key = repo.get_weights_key(session, run.parent_run_id) if run.parent_run_id is not None else None
    return ClaimedRun(
        run_id=run.id,
        submission_id=submission.id,
        seed=run.seed,
        spec=submission.spec,
        benchmark=submission.benchmark,
        train_fraction=submission.train_fraction,
        epochs=epochs,
        worker=worker,
        kind=run.kind,
        task=run.task,
        parent_weights_key=parent_key,
        fingerprint=submission.fingerprint,
    )


@dataclass(frozen=True)
class Candidate:
    """The fair-next run before it is claimed, as a batching policy sees it: ``queued`` counts it and the
    submission's other queued seeds."""

    run_id: int
    submission_id: int
    spec: dict[str, Any]
    benchmark: str
    train_fraction: float | None
    queued: int
    kind: str = RunKind.UPSTREAM


BatchPolicy = Callable[[Candidate], int]
"""How many of a candidate's queued seeds to train as one batched model (≤ ``queued``; 0: train it alone,
one by one)."""


@dataclass(frozen=True)
class Claim:
    """What a worker holds after ``claim_candidate``: runs of one submission; ``batched``: train them as one batched
    model (else there is exactly one)."""

    runs: list[ClaimedRun]
    batched: bool


def peek_next(session: Session) -> Candidate | None:
    """The fair-next queued run, not claimed yet (None when nothing is queued). Read-only: the batching policy
    is asked between this and ``claim_candidate``, outside any transaction that holds locks."""
    nxt = fairness.next_queued(session)
    if nxt is None:
        return None
    run = repo.get_run(session, nxt.run_id)
    if run is None:
        return None
    siblings = repo.queued_sibling_ids(session, run.submission_id, run.id)
    submission = run.submission
    return Candidate(
        run.id,
        submission.id,
        submission.spec,
        submission.benchmark,
        submission.train_fraction,
        1 + len(siblings),
        kind=run.kind,
    )


def claim_candidate(
    session: Session, candidate: Candidate, members: int, *, worker: str, device: str, max_epochs: int | None
) -> Claim | None:
    """Claim ``candidate`` (None when another worker took it first), and when ``members`` > 0 up to
    ``members - 1`` more queued seeds of its submission, to train as one batched model: one guarded UPDATE per
    run, all in the caller's transaction (the first statement is a write, so SQLite takes its lock at once)."""
    if not repo.claim_run(session, candidate.run_id, worker=worker, device=device):
        return None
    ids = [candidate.run_id]
    for sibling in repo.queued_sibling_ids(session, candidate.submission_id, candidate.run_id)[: max(0, members - 1)]:
        if repo.claim_run(session, sibling, worker=worker, device=device):
            ids.append(sibling)
    return Claim(_hold_all(session, ids, worker, max_epochs), batched=members > 0)


def _hold_all(session: Session, ids: list[int], worker: str, max_epochs: int | None) -> list[ClaimedRun]:
    held = []
    for run_id in ids:
        run = repo.get_run(session, run_id)
        assert run is not None
        held.append(_held(session, run, worker, max_epochs))
    repo.refresh_submission_status(session, held[0].submission_id)
    return held


def store_epochs(session: Session, run: ClaimedRun, rows: list[dict[str, Any]]) -> bool:
    """Store epoch rows in order; False (nothing more may be written) when the worker no longer holds the run."""
    return all(repo.record_epoch(session, run.run_id, run.worker, row) for row in rows)


def finish(
    session: Session,
    run: ClaimedRun,
    result: dict[str, Any],
    *,
    seconds: float | None = None,
    queue_downstream: bool = True,
) -> bool:
    """Store the final result; False when the run is no longer this worker's. The run's quota charge is
    settled with ``seconds`` (default: the result's wall seconds). An upstream run whose weights were stored
    (``result["weights_key"]``) queues its benchmark's downstream runs in the same transaction (unless
    ``queue_downstream`` is off: ``ARCHARENA_TRANSFER_RUNS=0``)."""
    values = {key: result[key] for key in RESULT_FIELDS if key in result}
    stored = repo.finish_run(session, run.run_id, run.worker, RunStatus.FINISHED, values)
    if stored:
        used = seconds if seconds is not None else float(result.get("wall_seconds") or 0.0)
        repo.settle_charge(session, run.run_id, used, RunStatus.FINISHED)
        if queue_downstream and run.kind == RunKind.UPSTREAM and values.get("weights_key"):
            queue_transfer(session, run.run_id)
    repo.refresh_submission_status(session, run.submission_id)
    return stored


def queue_transfer(session: Session, run_id: int) -> list[int]:
    """Queue a linear probe and a fine-tune per downstream task of the run's benchmark, from its weights (the
    platform's runs: nobody's quota pays them). Returns their ids."""
    parent = repo.get_run(session, run_id)
    assert parent is not None
    submission = parent.submission
    plan = []
    for task in tasks_for(submission.benchmark):
        for kind in TRANSFER_KINDS:
            projected = None
            if submission.train_s_per_image is not None:
                projected = submission.train_s_per_image * task.n_train * task.recipe(kind).epochs
            plan.append((task.slug, kind, projected))
    return repo.queue_transfer_runs(session, parent, plan) if plan else []


def fail(session: Session, run: ClaimedRun, kind: str, message: str, *, seconds: float = 0.0) -> bool:
    """End the run as failed with a reason the submitter can act on. Its quota charge is settled with the
    ``seconds`` it used, or refunded when the platform caused the failure (``PLATFORM_FAULTS``)."""
    values = {"error_kind": kind, "error_message": message[:MAX_ERROR_MESSAGE]}
    stored = repo.finish_run(session, run.run_id, run.worker, RunStatus.FAILED, values)
    if stored:
        repo.settle_charge(session, run.run_id, 0.0 if kind in PLATFORM_FAULTS else seconds, kind)
    repo.refresh_submission_status(session, run.submission_id)
    return stored


def restart(session: Session, run: ClaimedRun) -> bool:
    """Clear a held run's epoch history before training it again (False: no longer this worker's)."""
    return repo.restart_history(session, run.run_id, run.worker)


def is_cancelled(session: Session, run: ClaimedRun) -> bool:
    """Whether training should stop: the run's submission was deleted (see ``repository.is_cancelled``)."""
    return repo.is_cancelled(session, run.run_id)


def heartbeat(session: Session, run: ClaimedRun) -> bool:
    """Mark the run alive; False when this worker no longer holds it."""
    return repo.touch_heartbeat(session, run.run_id, run.worker)
