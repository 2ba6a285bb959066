"""Heartbeats, the reaper, time limits and database blips, in-process on a migrated SQLite database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from app.core.config import Settings
from app.core.db.session import session_scope
from app.core.db.tables import EpochMetric, Run, Submission, utcnow
from app.core.queue import outbox
from app.runs import repository as repo
from app.runs.lifecycle import ClaimedRun
from app.runs.recovery import reap
from tests.e2e.stack import wait_for
from tests.workers.test_runner import make_submission
from workers import runner
from workers.runner import Heartbeat, execute_run
from workers.training.results import EpochMetrics


def run_row(settings: Settings, run_id: int) -> Run:
    with session_scope(settings.database_url) as session:
        run = session.get(Run, run_id)
        assert run is not None
        return run


def claim_and_silence(settings: Settings, run_id: int, worker: str = "gone:1", age_s: float = 3600) -> None:
    """Claim as a worker that then died: its last heartbeat is ``age_s`` old."""
    with session_scope(settings.database_url) as session:
        assert repo.claim_run(session, run_id, worker=worker, device="cpu")
        session.execute(update(Run).where(Run.id == run_id).values(heartbeat_at=utcnow() - timedelta(seconds=age_s)))


def test_settings_fill_and_check_the_liveness_timeouts() -> None:
    settings = Settings(heartbeat_s=2)
    assert (settings.dead_after, settings.reap_interval) == (6, 2)
    with pytest.raises(ValueError, match="twice"):
        Settings(heartbeat_s=2, dead_after_s=3)
    with pytest.raises(ValueError, match="soft < hard"):
        Settings(run_soft_time_limit_s=100, run_hard_time_limit_s=90)


def test_reaper_requeues_a_silent_run_and_fails_it_as_crashed_after_max_attempts(sqlite_settings: Settings) -> None:
    (run_id,) = make_submission(sqlite_settings)
    claim_and_silence(sqlite_settings, run_id, age_s=5)
    assert reap(sqlite_settings).requeued == []  # 5 s of silence: under the 30 s dead-after default
    for attempt in range(1, sqlite_settings.max_attempts):
        reaped = reap(sqlite_settings, now=utcnow() + timedelta(seconds=60))
        assert (reaped.requeued, reaped.failed) == ([run_id], [])
        with session_scope(sqlite_settings.database_url) as session:  # to be sent again, with the requeue's commit
            assert [r.sent_at for r in outbox.rows_for(session, run_id)][-1] is None
        run = run_row(sqlite_settings, run_id)
        assert (run.status, run.attempts) == ("queued", attempt)
        claim_and_silence(sqlite_settings, run_id, worker=f"w{attempt}:1")
    reaped = reap(sqlite_settings)
    assert (reaped.requeued, reaped.failed) == ([], [run_id])
    run = run_row(sqlite_settings, run_id)
    assert (run.status, run.error_kind, run.attempts) == ("failed", "crashed", sqlite_settings.max_attempts)
    assert run.error_message is not None
    assert (
        "stopped responding 3 times (last: worker w2:1 at" in run.error_message and "out of memory" in run.error_message
    )
    with session_scope(sqlite_settings.database_url) as session:
        assert session.scalar(select(Submission.status).where(Submission.id == run.submission_id)) == "failed"
    assert execute_run(sqlite_settings, run_id) == "skipped"  # a late duplicate message trains nothing


def test_heartbeat_thread_keeps_the_run_alive_and_notices_when_it_is_taken(sqlite_settings: Settings) -> None:
    (run_id,) = make_submission(sqlite_settings)
    claim_and_silence(sqlite_settings, run_id, worker="me:1")
    old = run_row(sqlite_settings, run_id).heartbeat_at
    assert old is not None
    with Heartbeat(fast_beats(sqlite_settings), held(sqlite_settings, run_id, "me:1")) as beat:
        wait_for(lambda: (run_row(sqlite_settings, run_id).heartbeat_at or old) > old, 10, "a heartbeat")
        assert reap(sqlite_settings).requeued == []
        with session_scope(sqlite_settings.database_url) as session:
            session.execute(update(Run).where(Run.id == run_id).values(worker="other:2"))
        wait_for(beat.lost.is_set, 10, "the heartbeat to notice the run is gone")


def fast_beats(settings: Settings) -> Settings:
    return settings.model_copy(update={"heartbeat_s": 0.05})


def held(settings: Settings, run_id: int, worker: str) -> ClaimedRun:
    """The run as the worker that holds it sees it."""
    run = run_row(settings, run_id)
    return ClaimedRun(run_id, run.submission_id, run.seed, {}, "digits", None, 2, worker)


def fake_train(epochs: int, between: Any = None) -> Any:
    def train(*_args: Any, on_epoch: Any, **_kwargs: Any) -> Any:
        for epoch in range(1, epochs + 1):
            on_epoch(EpochMetrics(epoch, epochs, 1.0, 0.5, 1.0, 0.5, 0.1, float(epoch)))
            if between:
                between(epoch)
        raise AssertionError("not reached in these tests")

    return train


def test_a_worker_whose_run_was_reaped_stops_without_writing(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    (run_id,) = make_submission(sqlite_settings)

    def reaped_meanwhile(epoch: int) -> None:
        if epoch == 1:
            with session_scope(sqlite_settings.database_url) as session:
                session.execute(update(Run).where(Run.id == run_id).values(status="queued"))

    monkeypatch.setattr(runner, "train", fake_train(3, reaped_meanwhile))
    assert execute_run(sqlite_settings, run_id) == "skipped"
    run = run_row(sqlite_settings, run_id)
    assert (run.status, run.epochs_done, run.error_kind) == ("queued", 1, None)


def test_soft_time_limit_ends_the_run_as_timeout(sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    (run_id,) = make_submission(sqlite_settings)

    def over_time(epoch: int) -> None:
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(runner, "train", fake_train(2, over_time))
    assert execute_run(sqlite_settings, run_id) == "failed"
    run = run_row(sqlite_settings, run_id)
    assert (run.status, run.error_kind) == ("failed", "timeout")
    assert "time limit of 3600 s" in (run.error_message or "")


def test_a_database_blip_during_an_epoch_write_loses_no_epoch(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    (run_id,) = make_submission(sqlite_settings)
    real = repo.record_epoch
    failures = {"left": 2}

    def flaky(session: Any, rid: int, worker: str, metrics: dict[str, Any]) -> bool:
        if metrics["epoch"] == 1 and failures["left"]:
            failures["left"] -= 1
            raise OperationalError("INSERT", {}, Exception("server closed the connection unexpectedly"))
        return real(session, rid, worker, metrics)

    monkeypatch.setattr(repo, "record_epoch", flaky)
    assert execute_run(sqlite_settings, run_id) == "finished"  # epoch 1 stored late, at epoch 2 (retry)
    assert failures["left"] == 0
    with session_scope(sqlite_settings.database_url) as session:
        epochs = session.scalars(select(EpochMetric.epoch).where(EpochMetric.run_id == run_id)).all()
    assert sorted(epochs) == [1, 2]
    assert run_row(sqlite_settings, run_id).status == "finished"


def test_a_run_stuck_past_the_hard_limit_is_ended_as_timeout(sqlite_settings: Settings) -> None:
    """The solo pool does not enforce Celery's hard limit; the heartbeat thread does."""
    (run_id,) = make_submission(sqlite_settings)
    claim_and_silence(sqlite_settings, run_id, worker="me:1", age_s=0)
    submission_id = run_row(sqlite_settings, run_id).submission_id
    with Heartbeat(fast_beats(sqlite_settings), held(sqlite_settings, run_id, "me:1"), hard_limit_s=0.2) as beat:
        wait_for(beat.lost.is_set, 10, "the hard limit")
    run = run_row(sqlite_settings, run_id)
    assert (run.status, run.error_kind) == ("failed", "timeout")
    assert "hard time limit of 0 s" in (run.error_message or "")
    with session_scope(sqlite_settings.database_url) as session:
        assert session.scalar(select(Submission.status).where(Submission.id == submission_id)) == "failed"
