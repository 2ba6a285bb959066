"""Deleting a submission while a worker trains it stops the run within one epoch (the worker's next epoch write
finds the run no longer its own), and queued runs of a deleted submission are never claimed."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select

from app.core.config import Settings
from app.core.db.session import session_scope
from app.core.db.tables import Run
from app.moderation import service as moderation
from app.runs.repository import claim_run, is_cancelled
from app.submissions.schemas import SubmissionIn
from app.submissions.service import create_submission
from app.users.service import get_or_create_user
from tests.e2e.stack import wait_for
from workers.runner import execute_run


def _submission(settings: Settings, seeds: int) -> tuple[int, list[int]]:
    with session_scope(settings.database_url) as session:
        user = get_or_create_user(session, "trainer")
        body = SubmissionIn(name="long", spec={"preset": "tiny_plain_digits", "overrides": {}}, seeds=seeds)
        submission = create_submission(session, user, body, max_epochs=settings.max_epochs)
        return submission.id, [run.id for run in submission.runs]


def _epochs_done(settings: Settings, run_id: int) -> int:
    with session_scope(settings.database_url) as session:
        return int(session.scalar(select(Run.epochs_done).where(Run.id == run_id)) or 0)


def test_a_run_whose_submission_is_deleted_stops_within_one_epoch(sqlite_settings: Settings) -> None:
    settings = sqlite_settings.model_copy(update={"max_epochs": 60})
    sid, (running, queued) = _submission(settings, seeds=2)
    outcome: list[str] = []
    worker = threading.Thread(target=lambda: outcome.append(execute_run(settings, running)))
    worker.start()
    wait_for(lambda: _epochs_done(settings, running) >= 1, 120, "the first epoch")
    with session_scope(settings.database_url) as session:
        owner = get_or_create_user(session, "trainer")
        moderation.delete_submission(session, owner, sid, "changed my mind")
    at_delete = _epochs_done(settings, running)
    started = time.monotonic()
    worker.join(timeout=120)
    assert not worker.is_alive() and outcome == ["skipped"]
    print(f"stopped {time.monotonic() - started:.1f} s after the delete, at epoch {_epochs_done(settings, running)}")
    assert _epochs_done(settings, running) <= at_delete + 1 < 60
    with session_scope(settings.database_url) as session:
        assert is_cancelled(session, running) and is_cancelled(session, queued)
        run = session.get(Run, running)
        assert run is not None and (run.status, run.error_kind) == ("failed", "cancelled")
        assert not claim_run(session, queued, worker="w", device="cpu")  # never trained


def test_a_live_run_is_not_cancelled(sqlite_settings: Settings) -> None:
    _, (run_id,) = _submission(sqlite_settings, seeds=1)
    with session_scope(sqlite_settings.database_url) as session:
        assert not is_cancelled(session, run_id)
        assert is_cancelled(session, 10**6)  # a run that does not exist has nothing to train
