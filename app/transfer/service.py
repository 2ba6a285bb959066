"""Upstream vs downstream accuracy per entry and per benchmark, with intervals from ``app.stats``; downloads of
stored weights. Services never commit."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.benchmarks.downstream import TRANSFER_KINDS, DownstreamTask, tasks_for
from app.benchmarks.registry import get_benchmark
from app.core.config import Settings
from app.core.db.tables import Run, RunKind, RunStatus, Submission
from app.core.errors import NotFound, ServiceUnavailable
from app.entries.noise import DEFAULT, board_reference
from app.stats.intervals import entry_interval
from app.stats.noise import NoiseReference
from app.transfer import repository as repo
from app.transfer.schemas import (
    BenchmarkTransferOut,
    ScoreOut,
    TaskTransferOut,
    TransferOut,
    TransferPointOut,
    TransferRunOut,
    WeightsLinkOut,
)
from app.weights.store import WeightsMissing, store_for

NOISE_TEXT = (
    "Upstream intervals use the board's seed-noise reference; downstream ones a conservative default of "
    f"{100 * DEFAULT.sigma:.0f} points per seed (no reference is measured for transfer), plus test-set sampling."
)


def weights_url(run: Run) -> str | None:
    return f"/api/v1/runs/{run.id}/weights" if run.weights_key else None


def score(runs: Sequence[Run], n_test: int, ref: NoiseReference) -> ScoreOut | None:
    accs = [float(r.test_acc) for r in runs if r.status == RunStatus.FINISHED and r.test_acc is not None]
    if not accs:
        return None
    interval = entry_interval(accs, n_test, ref)
    return ScoreOut(mean=interval.mean, low=interval.low, high=interval.high, n=interval.n)


def recipes(task: DownstreamTask) -> dict[str, str]:
    return {kind: task.recipe_text(kind) for kind in TRANSFER_KINDS}


def _upstream_ref(session: Session, submission: Submission) -> NoiseReference:
    return board_reference(session, submission.benchmark, submission.recipe_version).ref


def _task_runs(submission: Submission, task: DownstreamTask, kind: str) -> list[Run]:
    return [r for r in submission.transfer_runs if r.task == task.slug and r.kind == kind]


def _task_out(submission: Submission, task: DownstreamTask, upstream: ScoreOut | None) -> TaskTransferOut:
    n_test = task.n_test
    runs = [r for r in submission.transfer_runs if r.task == task.slug]
    return TaskTransferOut(
        task=task.slug,
        title=task.title,
        description=task.description,
        recipes=recipes(task),
        upstream=upstream,
        probe=score(_task_runs(submission, task, RunKind.PROBE), n_test, DEFAULT),
        finetune=score(_task_runs(submission, task, RunKind.FINETUNE), n_test, DEFAULT),
        runs=[
            TransferRunOut(
                id=r.id,
                seed=r.seed,
                kind=r.kind,
                status=r.status,
                test_acc=r.test_acc,
                parent_run_id=r.parent_run_id,
                weights_url=weights_url(r),
                error_message=r.error_message,
            )
            for r in runs
        ],
    )


def entry_transfer(session: Session, submission_id: int) -> TransferOut:
    """The entry's upstream accuracy beside each downstream task's probe and fine-tune accuracy."""
    submission = repo.submission_runs(session, submission_id)
    if submission is None:
        raise NotFound("submission")
    benchmark = get_benchmark(submission.benchmark)
    upstream = score(submission.runs, benchmark.n_test, _upstream_ref(session, submission))
    every = [*submission.runs, *submission.transfer_runs]
    return TransferOut(
        submission_id=submission.id,
        benchmark=submission.benchmark,
        noise=NOISE_TEXT,
        weights=[
            WeightsLinkOut(run_id=r.id, seed=r.seed, kind=r.kind, url=url) for r in every if (url := weights_url(r))
        ],
        tasks=[_task_out(submission, task, upstream) for task in tasks_for(submission.benchmark)],
    )


def benchmark_transfer(session: Session, slug: str) -> list[BenchmarkTransferOut]:
    """Per downstream task of the benchmark: every visible entry with transfer results, upstream vs downstream."""
    benchmark = get_benchmark(slug)
    entries = repo.entries_with_transfer(session, slug)
    refs: dict[str, NoiseReference] = {}
    out = []
    for task in tasks_for(slug):
        n_test = task.n_test
        points = []
        for s in entries:
            if s.recipe_version not in refs:
                refs[s.recipe_version] = _upstream_ref(session, s)
            points.append(
                TransferPointOut(
                    id=s.id,
                    name=s.name,
                    family=s.family,
                    mixer=s.mixer,
                    is_baseline=s.is_baseline,
                    upstream=score(s.runs, benchmark.n_test, refs[s.recipe_version]),
                    probe=score(_task_runs(s, task, RunKind.PROBE), n_test, DEFAULT),
                    finetune=score(_task_runs(s, task, RunKind.FINETUNE), n_test, DEFAULT),
                )
            )
        out.append(
            BenchmarkTransferOut(
                benchmark=slug,
                task=task.slug,
                title=task.title,
                description=task.description,
                recipes=recipes(task),
                entries=points,
            )
        )
    return out


@dataclass(frozen=True)
class WeightsFile:
    filename: str
    size: int
    chunks: Iterator[bytes]


def weights_file(session: Session, settings: Settings, run_id: int) -> WeightsFile:
    """A run's stored weights, to stream. 404 when the run (or its entry) is gone or has no weights; 503 when
    the store does not answer."""
    run = repo.run_with_submission(session, run_id)
    if run is None or run.submission.deleted_at is not None:
        raise NotFound("run")
    if run.weights_key is None:
        raise NotFound(f"stored weights of run {run_id}")
    store = store_for(settings)
    try:
        size = store.size(run.weights_key)
        chunks = store.chunks(run.weights_key)
    except WeightsMissing:
        raise NotFound(f"stored weights of run {run_id}") from None
    except OSError:
        raise ServiceUnavailable("the weights store is not answering; try again shortly", 30) from None
    suffix = "" if run.kind == RunKind.UPSTREAM else f"-{run.task}-{run.kind}"
    return WeightsFile(f"archarena-run{run.id}-seed{run.seed}{suffix}.safetensors", size, chunks)
