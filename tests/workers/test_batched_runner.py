"""The runner with batched seeds, in-process on a migrated SQLite database with real training: one message trains
every queued seed of a submission as one batched model (batching forced on CPU), with each seed's epoch rows and
results as one by one; members that run out of memory together are trained again one by one; a run whose
submission is deleted stops within an epoch and writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch
from sqlalchemy import select

from app.benchmarks.registry import get_benchmark
from app.core.config import Settings
from app.core.db.session import session_scope
from app.core.db.tables import EpochMetric, QuotaCharge, Run, User
from app.moderation import service as moderation
from app.zoo.spec import parse_spec
from tests.workers.test_runner import make_submission
from tests.workers.training.test_batched import REAL_RECIPE_ATOL
from workers import runner
from workers.training.results import TrainingFailed
from workers.training.train_spec import train

SPEC = {"preset": "tiny_plain_digits", "overrides": {}}  # what make_submission submits


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """As a worker trains (``archarena worker --threads 1``): two contended threads are ~10x slower here."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def batching(settings: Settings) -> Settings:
    return settings.model_copy(update={"batch_on_cpu": True, "device": "cpu"})


def rows(settings: Settings, run_ids: list[int]) -> list[Run]:
    with session_scope(settings.database_url) as session:
        return list(session.scalars(select(Run).where(Run.id.in_(run_ids)).order_by(Run.seed)))


def epochs_of(settings: Settings, run_id: int) -> list[int]:
    with session_scope(settings.database_url) as session:
        return sorted(session.scalars(select(EpochMetric.epoch).where(EpochMetric.run_id == run_id)))


def test_one_message_trains_every_queued_seed_as_one_batch(sqlite_settings: Settings) -> None:
    settings = batching(sqlite_settings)
    ids = make_submission(settings, seeds=3)
    assert runner.execute_run(settings, ids[1]) == "finished"  # any of its messages wakes the batch
    assert runner.execute_run(settings, ids[0]) == "skipped"
    runs = rows(settings, ids)
    assert [(r.status, r.attempts, r.epochs_done) for r in runs] == [("finished", 1, 2)] * 3
    assert len({r.worker for r in runs}) == 1 and len({r.images_per_second for r in runs}) == 1  # one batch
    for run in runs:
        assert epochs_of(settings, run.id) == [1, 2]
    bench, spec = get_benchmark("digits"), parse_spec(SPEC)
    gaps = []
    for run in runs:
        alone = train(spec, bench, run.seed, max_epochs=2)
        for name in ("train_loss", "val_loss", "test_loss", "test2_loss"):
            gaps.append(abs(getattr(run, name) - getattr(alone, name)))
        assert abs((run.test_acc or 0) - alone.test_acc) * bench.n_test <= 3  # within three images
    print(f"batched in the runner vs one by one: largest loss gap {max(gaps):.2e} (tolerance {REAL_RECIPE_ATOL:g})")
    assert max(gaps) <= REAL_RECIPE_ATOL
    assert len({r.test_loss for r in runs}) == 3  # three seeds, three different models
    with session_scope(settings.database_url) as session:
        settled = list(session.scalars(select(QuotaCharge.seconds)))
    assert settled == [] or all(s is not None and s > 0 for s in settled)  # platform submissions are not charged


def test_cpu_trains_one_by_one_unless_forced(sqlite_settings: Settings) -> None:
    settings = sqlite_settings.model_copy(update={"device": "cpu"})
    ids = make_submission(settings, seeds=2)
    assert runner.execute_run(settings, ids[0]) == "finished"
    assert [r.status for r in rows(settings, ids)] == ["finished", "queued"]


def test_members_that_run_out_of_memory_together_are_retried_one_by_one(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch on this CPU never runs out of memory; the engine's answer when it does on a GPU is played back
    (every member 'oom' after an epoch of rows), and the retry trains each member for real."""
    settings = batching(sqlite_settings)
    ids = make_submission(settings, seeds=2)

    def out_of_memory(*args: Any, on_epoch: Any, members: Any = None, **kwargs: Any) -> dict[Any, Any]:
        members = args[2] if len(args) > 2 else members
        for member in members:
            on_epoch(member.key, _metrics(1))
        return {m.key: TrainingFailed("oom", "ran out of device memory at epoch 2", 2) for m in members}

    monkeypatch.setattr(runner, "train_batched", out_of_memory)
    assert runner.execute_run(settings, ids[0]) == "finished"
    runs = rows(settings, ids)
    assert [(r.status, r.attempts) for r in runs] == [("finished", 1)] * 2
    for run in runs:  # the batched attempt's rows were cleared: one clean history per seed
        assert epochs_of(settings, run.id) == [1, 2]


def _metrics(epoch: int) -> Any:
    from workers.training.results import EpochMetrics

    return EpochMetrics(epoch, 2, 1.0, 0.5, 1.0, 0.5, 0.01, 0.1)


def test_a_run_whose_submission_is_deleted_stops_within_an_epoch(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = sqlite_settings.model_copy(update={"max_epochs": 6})
    (run_id,) = make_submission(settings, seeds=1)
    with session_scope(settings.database_url) as session:
        submission_id = session.scalar(select(Run.submission_id).where(Run.id == run_id))
    seen: list[int] = []
    real_call = runner.EpochSink.__call__

    def then_delete(self: runner.EpochSink, metrics: Any) -> None:
        seen.append(metrics.epoch)  # every epoch the engine finished, stored or not
        real_call(self, metrics)
        if metrics.epoch == 1:  # the owner deletes it while it trains
            with session_scope(settings.database_url) as session:
                owner = session.scalar(select(User).where(User.name == "runner-test"))
                assert owner is not None and submission_id is not None
                moderation.delete_submission(session, owner, submission_id, "changed my mind")

    monkeypatch.setattr(runner.EpochSink, "__call__", then_delete)
    assert runner.execute_run(settings, run_id) == "skipped"
    assert seen == [1]  # stopped at the start of epoch 2 (before: it trained epoch 2, then found the run gone)
    with session_scope(settings.database_url) as session:  # soft delete: the run stays, cancelled, not trained on
        run = session.get(Run, run_id)
        assert run is not None and (run.status, run.error_kind) == ("failed", "cancelled")


def test_a_worker_claims_only_the_seeds_its_memory_budget_holds(sqlite_settings: Settings) -> None:
    """tiny_plain_digits on CPU: about 35.3 MiB for two members, 37.5 MiB for three (the engine's estimate)."""
    settings = batching(sqlite_settings).model_copy(update={"worker_memory_mb": 36})
    ids = make_submission(settings, seeds=3)
    claim = runner.claim_next(settings)
    assert claim is not None and claim.batched and [r.run_id for r in claim.runs] == ids[:2]
    assert [r.status for r in rows(settings, ids)] == ["running", "running", "queued"]
    tight = batching(sqlite_settings).model_copy(update={"worker_memory_mb": 8})  # not even one: one by one
    claim = runner.claim_next(tight)
    assert claim is not None and not claim.batched and [r.run_id for r in claim.runs] == [ids[2]]
