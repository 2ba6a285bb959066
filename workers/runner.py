"""Runs from claim to stored result, in named steps: claim → build → train (epoch rows stored as they come, a
heartbeat beside) → record. The task calls ``execute_run``; the training itself knows no database.

A message wakes a worker; it does not choose the run. The worker claims the fair-next queued run
(``app.core.queue.fairness``) — the message's own run when that one is due — and, when its engine can train the
submission's seeds as one batched model on this device within this worker's memory budget (``can_batch``), every
queued seed of that submission with it (``train_batched``; one epoch row stream and one result per seed, as one by
one). A batched attempt that runs out of memory is retried one by one. A run whose submission is deleted stops
within an epoch (``should_stop``) and writes nothing."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

import torch
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.exc import SQLAlchemyError

from app.benchmarks.downstream import get_task
from app.benchmarks.registry import get_benchmark
from app.core.config import Settings
from app.core.db.session import session_scope
from app.core.db.tables import RunKind
from app.runs import lifecycle
from app.runs.lifecycle import BatchPolicy, Candidate, Claim, ClaimedRun
from app.weights.store import WeightsMissing, store_for
from app.zoo.spec import ArchSpec, SpecError, parse_spec
from workers.keep import KeptWeights, store_weights
from workers.training.results import EpochMetrics, Member, TrainingFailed, TrainResult
from workers.training.train_spec import can_batch, members_that_fit, train, train_batched
from workers.training.transfer import train_transfer

log = logging.getLogger(__name__)
T = TypeVar("T")
CLAIM_TRIES = 8  # the fair-next run was taken by another worker between our look and our claim: look again
CUDA_BUDGET_SHARE = 0.9  # without ARCHARENA_WORKER_MEMORY_MB: this share of the device memory free at claim


class RunLost(Exception):
    """This worker no longer holds the run: the reaper took it for dead and gave it to another worker, or its
    submission was deleted. Training stops; nothing more is written (another history must not be mixed with
    ours)."""


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
    """Woken by the message of ``run_id``: claim the fair-next queued run(s), build, train, record. Returns
    'skipped' (nothing queued, or nothing written), 'finished' or 'failed' (of the runs it held). Safe to call
    twice: every claim is a guarded UPDATE."""
    claim = claim_next(settings, hint=run_id)
    if claim is None:
        log.info("run %s is not queued (already claimed or done), nor is any other: skipping", run_id)
        return "skipped"
    try:
        spec = parse_spec(claim.runs[0].spec)
    except SpecError as exc:  # stored before a zoo change made it invalid: say so, do not crash the worker
        failure = Failure("invalid_spec", str(exc))
        return summarize([record(settings, r, failure, EpochSink(settings, r)) for r in claim.runs])
    if claim.batched:
        return summarize(run_batched(settings, claim.runs, spec))
    (run,) = claim.runs
    sink = EpochSink(settings, run)
    kept = KeptWeights()
    started = time.monotonic()
    outcome = train_run(settings, run, spec, sink, kept)
    return record(settings, run, outcome, sink, seconds=time.monotonic() - started, kept=kept)


def summarize(results: Sequence[str]) -> str:
    """One word for the runs a call held: all alike, or 'failed' if any failed, else 'finished'."""
    if len(set(results)) == 1:
        return results[0]
    return "failed" if "failed" in results else "finished"


# ---------------------------------------------------------------------------------------------------- claiming


def claim(settings: Settings, run_id: int) -> ClaimedRun | None:
    """One transaction: claim this very run, read what training needs, mark the submission running."""
    me, device = worker_name(), pick_device(settings.device)

    def attempt() -> ClaimedRun | None:
        with session_scope(settings.database_url) as session:
            return lifecycle.claim(session, run_id, worker=me, device=device, max_epochs=settings.max_epochs)

    return with_db_retries(attempt, settings.dead_after, f"claiming run {run_id}")


def claim_next(settings: Settings, hint: int | None = None) -> Claim | None:
    """Claim the fair-next queued run, with its submission's other queued seeds when they can train as one
    batched model here (the policy is asked between the look and the claim, outside any transaction). A worker
    that keeps losing the race for the fair-next run to others claims the message's own run (``hint``)."""
    me, device = worker_name(), pick_device(settings.device)
    policy = batch_policy(settings, device)

    def look() -> Candidate | None:
        with session_scope(settings.database_url) as session:
            return lifecycle.peek_next(session)

    for _ in range(CLAIM_TRIES):
        candidate = with_db_retries(look, settings.dead_after, "looking for the next run")
        if candidate is None:
            return None
        members = policy(candidate) if policy is not None else 0

        def take(c: Candidate = candidate, n: int = members) -> Claim | None:
            with session_scope(settings.database_url) as session:
                return lifecycle.claim_candidate(
                    session, c, n, worker=me, device=device, max_epochs=settings.max_epochs
                )

        held = with_db_retries(take, settings.dead_after, f"claiming run {candidate.run_id}")
        if held is not None:
            if hint is not None and hint != candidate.run_id:
                log.info("woken by run %s: claimed the fair-next run %s", hint, candidate.run_id)
            return held
    if hint is None:  # other workers won every race for the fair-next run: this message's own, if still queued
        return None
    alone = claim(settings, hint)
    return Claim([alone], batched=False) if alone is not None else None


def memory_budget(settings: Settings, device: str) -> int | None:
    """This worker's memory budget in bytes: the setting, or on CUDA a share of the free device memory."""
    if settings.worker_memory_mb is not None:
        return settings.worker_memory_mb * 2**20
    if torch.device(device).type == "cuda":
        free, _total = torch.cuda.mem_get_info(torch.device(device))
        return int(CUDA_BUDGET_SHARE * free)
    return None


_DECISIONS: dict[tuple[object, ...], int] = {}  # this process's answers of the batching policy
DECISIONS_KEPT = 512


def batch_policy(settings: Settings, device: str) -> BatchPolicy | None:
    """How many queued seeds of a candidate's submission to train together here (0: one by one). Decided once
    per database, submission, seed count, device and setting in this process (it builds the model on the meta
    device)."""
    if not settings.batch_seeds:
        return None
    fixed = (settings.database_url, device, settings.batch_on_cpu, settings.worker_memory_mb)

    def policy(candidate: Candidate) -> int:
        key = (*fixed, candidate.submission_id, candidate.queued)
        if key not in _DECISIONS:
            if len(_DECISIONS) >= DECISIONS_KEPT:
                _DECISIONS.clear()
            _DECISIONS[key] = _members(settings, device, candidate)
        return _DECISIONS[key]

    return policy


def _members(settings: Settings, device: str, candidate: Candidate) -> int:
    if candidate.kind != RunKind.UPSTREAM:  # a downstream run trains alone, from its own upstream weights
        return 0
    try:
        spec, benchmark = parse_spec(candidate.spec), get_benchmark(candidate.benchmark)
        options: dict[str, Any] = {"data_dir": settings.data_dir, "train_fraction": candidate.train_fraction}
        budget = memory_budget(settings, device)
        allow_cpu = settings.batch_on_cpu
        ok, why = can_batch(spec, benchmark, candidate.queued, device, budget, allow_cpu=allow_cpu, **options)
        if ok:
            return candidate.queued
        if budget is None or not can_batch(spec, benchmark, 1, device, budget, allow_cpu=allow_cpu, **options)[0]:
            log.info("run %s trains one by one: %s", candidate.run_id, why)
            return 0
        return members_that_fit(spec, benchmark, device, budget, candidate.queued, **options)
    except Exception:  # an unusable spec or absent data: training one by one reports it properly
        log.warning("run %s: could not decide on batching; one by one", candidate.run_id, exc_info=True)
        return 0


# ---------------------------------------------------------------------------------------------------- training


def should_stop(settings: Settings, run: ClaimedRun, lost: threading.Event) -> Callable[[], bool]:
    """The engine's stop check: the run was taken from us, or its submission deleted. A database blip answers
    'go on' (the next check asks again)."""

    def check() -> bool:
        if lost.is_set():
            return True
        try:
            with session_scope(settings.database_url) as session:
                return lifecycle.is_cancelled(session, run)
        except SQLAlchemyError:
            return False

    return check


def train_run(
    settings: Settings, run: ClaimedRun, spec: ArchSpec, sink: EpochSink, kept: KeptWeights | None = None
) -> TrainOutcome:
    """Train with a heartbeat beside; every way it can end becomes an outcome (nothing escapes). The trained
    weights land in ``kept``."""
    beat = Heartbeat(settings, run, hard_limit_s=float(settings.run_hard_time_limit_s))
    sink.lost = beat.lost
    kept = kept if kept is not None else KeptWeights()
    try:
        with beat:
            if run.kind != RunKind.UPSTREAM:
                return transfer_run(settings, run, spec, sink, beat, kept)
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
                should_stop=should_stop(settings, run, beat.lost),
                on_trained=kept,
            )
    except RunLost as exc:
        return exc
    except TrainingFailed as failure:
        return outcome_of(run, failure)
    except SoftTimeLimitExceeded:  # Celery's soft limit (pools that enforce it); before `except Exception`
        return Failure("timeout", f"the run exceeded the time limit of {settings.run_soft_time_limit_s} s")
    except Exception as exc:  # a bug or a fault we did not foresee: record it, never lose the run silently
        log.exception("run %s failed", run.run_id)
        return Failure("error", f"{type(exc).__name__}: {exc}")


def transfer_run(
    settings: Settings, run: ClaimedRun, spec: ArchSpec, sink: EpochSink, beat: Heartbeat, kept: KeptWeights
) -> TrainOutcome:
    """A downstream run: its upstream run's weights from the store, then the task's probe or fine-tune."""
    if run.parent_weights_key is None:
        return Failure("error", "the upstream run has no stored weights to start from")
    try:
        weights = store_for(settings).get(run.parent_weights_key)
    except WeightsMissing:
        return Failure("error", "the upstream run's weights are missing from the weights store")
    return train_transfer(
        spec,
        get_benchmark(run.benchmark),
        get_task(run.task),
        run.kind,
        run.seed,
        weights,
        device=pick_device(settings.device),
        on_epoch=sink,
        max_epochs=settings.max_epochs,
        time_limit_s=float(settings.run_soft_time_limit_s),
        should_stop=should_stop(settings, run, beat.lost),
        on_trained=kept,
    )


def outcome_of(run: ClaimedRun, failure: TrainingFailed) -> TrainOutcome:
    if failure.kind == "stopped":  # the run is no longer ours to write (lost, or its submission deleted)
        return RunLost(f"run {run.run_id} stopped: {failure.message}")
    return Failure(failure.kind, failure.message)


def run_batched(settings: Settings, runs: list[ClaimedRun], spec: ArchSpec) -> list[str]:
    """Train the held runs of one submission as one batched model and record each; members that ran out of
    memory together are trained again one by one."""
    sinks = {run.run_id: EpochSink(settings, run) for run in runs}
    kept = {run.run_id: KeptWeights() for run in runs}
    started = time.monotonic()
    outcomes = train_members(settings, runs, spec, sinks, kept)
    share = (time.monotonic() - started) / len(runs)
    retry = [r for r in runs if len(runs) > 1 and _out_of_memory(outcomes[r.run_id])]
    results = [
        record(settings, r, outcomes[r.run_id], sinks[r.run_id], seconds=share, kept=kept[r.run_id])
        for r in runs
        if r not in retry
    ]
    if retry:
        with Heartbeat(settings, retry):  # the ones still waiting for their turn must not look dead meanwhile
            results += [retry_alone(settings, run, spec, share) for run in retry]
    return results


def _out_of_memory(outcome: TrainOutcome) -> bool:
    return isinstance(outcome, Failure) and outcome.kind == "oom"


def train_members(
    settings: Settings,
    runs: list[ClaimedRun],
    spec: ArchSpec,
    sinks: dict[int, EpochSink],
    kept: dict[int, KeptWeights] | None = None,
) -> dict[int, TrainOutcome]:
    """The batched call, a heartbeat for every held run beside it; every way it can end becomes an outcome.
    Each finished member's weights land in ``kept``."""
    keep = kept or {}
    beat = Heartbeat(settings, runs, hard_limit_s=float(settings.run_hard_time_limit_s))
    checks = {run.run_id: should_stop(settings, run, beat.lost_runs[run.run_id]) for run in runs}
    for run in runs:
        sinks[run.run_id].lost = beat.lost_runs[run.run_id]
    try:
        with beat:
            got = train_batched(
                spec,
                get_benchmark(runs[0].benchmark),
                [Member(run.run_id, run.seed, run.train_fraction) for run in runs],
                device=pick_device(settings.device),
                data_dir=settings.data_dir,
                on_epoch=lambda key, metrics: sinks[int(key)](metrics),  # type: ignore[call-overload]
                max_epochs=settings.max_epochs,
                time_limit_s=float(settings.run_soft_time_limit_s),
                should_stop=lambda key: checks[int(key)](),  # type: ignore[call-overload]
                on_trained=lambda key, state: keep[int(key)].keep_state(state) if int(key) in keep else None,  # type: ignore[call-overload]
            )
    except SoftTimeLimitExceeded:
        timeout = Failure("timeout", f"the runs exceeded the time limit of {settings.run_soft_time_limit_s} s")
        return {run.run_id: timeout for run in runs}
    except Exception as exc:  # a bug or a fault we did not foresee: record it for every member
        log.exception("batched runs %s failed", [run.run_id for run in runs])
        return {run.run_id: Failure("error", f"{type(exc).__name__}: {exc}") for run in runs}
    return {run.run_id: _member_outcome(run, got[run.run_id]) for run in runs}


def _member_outcome(run: ClaimedRun, got: TrainResult | TrainingFailed) -> TrainOutcome:
    return got if isinstance(got, TrainResult) else outcome_of(run, got)


def retry_alone(settings: Settings, run: ClaimedRun, spec: ArchSpec, used_s: float) -> str:
    """Train a member of a batch that ran out of memory on its own, from a fresh epoch history."""

    def restart() -> bool:
        with session_scope(settings.database_url) as session:
            return lifecycle.restart(session, run)

    if not with_db_retries(restart, settings.dead_after, f"restarting run {run.run_id}"):
        log.warning("run %s is no longer ours: not retried alone", run.run_id)
        return "skipped"
    log.info("run %s ran out of memory in a batch: training it alone", run.run_id)
    sink = EpochSink(settings, run)
    kept = KeptWeights()
    started = time.monotonic()
    outcome = train_run(settings, run, spec, sink, kept)
    return record(settings, run, outcome, sink, seconds=used_s + time.monotonic() - started, kept=kept)


# ---------------------------------------------------------------------------------------------------- recording


def record(
    settings: Settings,
    run: ClaimedRun,
    outcome: TrainOutcome,
    sink: EpochSink,
    *,
    seconds: float = 0.0,
    kept: KeptWeights | None = None,
) -> str:
    """Store the outcome once, through database blips (the epoch rows not yet stored go first); ``seconds``
    is what the run used (settles its quota charge). A finished run's weights (``kept``) go to the weights
    store first; its result then names their key, and an upstream run's downstream runs are queued with it."""
    if isinstance(outcome, RunLost):
        log.warning("%s: stopping without writing", outcome)
        return "skipped"
    result = asdict(outcome) if isinstance(outcome, TrainResult) else {}
    if isinstance(outcome, TrainResult) and kept is not None:
        result["weights_key"] = store_weights(settings, run, outcome, kept)

    def store() -> bool:
        rows = sink.pending()
        with session_scope(settings.database_url) as session:
            if not lifecycle.store_epochs(session, run, rows):
                return False
            if isinstance(outcome, Failure):
                stored = lifecycle.fail(session, run, outcome.kind, outcome.message, seconds=seconds)
            else:
                stored = lifecycle.finish(
                    session, run, result, seconds=seconds, queue_downstream=settings.transfer_runs
                )
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
    """A daemon thread that touches runs.heartbeat_at of every held run each ``settings.heartbeat_s`` while they
    train, so a long epoch is not taken for a dead worker. A failed write (database blip) is logged and retried on
    the next beat; a write that finds a run no longer ours sets that run's event in ``lost_runs`` (``lost``: the
    first run's, the only one of a run trained alone).

    The solo pool does not enforce Celery's time limits, so the heartbeat does: past ``hard_limit_s`` it ends
    the runs as failed 'timeout' and stops beating."""

    def __init__(
        self, settings: Settings, runs: ClaimedRun | Sequence[ClaimedRun], *, hard_limit_s: float | None = None
    ) -> None:
        self._runs = [runs] if isinstance(runs, ClaimedRun) else list(runs)
        self._url, self._interval = settings.database_url, settings.heartbeat_s
        self._hard_limit_s = hard_limit_s
        self._t0 = time.monotonic()
        self._stop = threading.Event()
        self.lost_runs = {run.run_id: threading.Event() for run in self._runs}
        self.lost = self.lost_runs[self._runs[0].run_id]
        name = f"heartbeat-run-{self._runs[0].run_id}" + (f"+{len(self._runs) - 1}" if len(self._runs) > 1 else "")
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def _held(self) -> list[ClaimedRun]:
        return [run for run in self._runs if not self.lost_runs[run.run_id].is_set()]

    def _loop(self) -> None:
        while not self._stop.wait(self._interval) and self._held():
            if self._hard_limit_s is not None and time.monotonic() - self._t0 > self._hard_limit_s:
                self._expire(self._hard_limit_s)
                return
            try:
                with session_scope(self._url) as session:
                    owned = {run.run_id: lifecycle.heartbeat(session, run) for run in self._held()}
            except SQLAlchemyError as exc:
                log.warning("heartbeat of runs %s not written (%s); retrying", list(self.lost_runs), type(exc).__name__)
                continue
            for run_id, ours in owned.items():
                if not ours:
                    self.lost_runs[run_id].set()

    def _expire(self, limit_s: float) -> None:
        """Runs stuck past the hard limit (a hung kernel: the loop's own soft limit is checked between steps
        and never came). The training thread cannot be interrupted; the runs are ended so that they are not
        requeued forever, and whatever the thread writes later is refused (it no longer holds them)."""
        held = self._held()
        for run in held:
            self.lost_runs[run.run_id].set()
        message = f"the run exceeded the hard time limit of {limit_s:.0f} s (stuck inside a training step)"
        log.error("runs %s: %s", [run.run_id for run in held], message)
        try:
            with session_scope(self._url) as session:
                for run in held:
                    lifecycle.fail(session, run, "timeout", message, seconds=limit_s / len(self._runs))
        except SQLAlchemyError:  # no heartbeat follows: the reaper requeues them instead
            log.exception("runs %s: could not store the hard time-out", [run.run_id for run in held])

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
