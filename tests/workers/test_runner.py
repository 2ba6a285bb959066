"""The run lifecycle in-process on a migrated SQLite database: claim once, train, store once."""

from __future__ import annotations

from sqlalchemy import func, select, update

from app.core.config import Settings
from app.core.db.session import session_scope
from app.core.db.tables import EpochMetric, Run, Submission
from app.submissions.schemas import SubmissionIn
from app.submissions.service import create_submission
from app.users.service import get_or_create_user
from workers.runner import execute_run


def make_submission(settings: Settings, seeds: int = 1) -> list[int]:
    with session_scope(settings.database_url) as session:
        user = get_or_create_user(session, "runner-test")
        body = SubmissionIn(name="r", spec={"preset": "tiny_plain_digits", "overrides": {}}, seeds=seeds)
        submission = create_submission(session, user, body, max_epochs=settings.max_epochs)
        return [run.id for run in submission.runs]


def test_a_run_delivered_twice_is_trained_once(sqlite_settings: Settings) -> None:
    (run_id,) = make_submission(sqlite_settings)
    assert execute_run(sqlite_settings, run_id) == "finished"
    assert execute_run(sqlite_settings, run_id) == "skipped"
    with session_scope(sqlite_settings.database_url) as session:
        run = session.get(Run, run_id)
        assert run is not None
        assert (run.status, run.attempts, run.epochs_done, run.epochs_total) == ("finished", 1, 2, 2)
        assert run.test_acc is not None and run.recipe_version == "digits-v2+epochs2"
        epochs = session.scalars(select(EpochMetric.epoch).where(EpochMetric.run_id == run_id)).all()
        assert sorted(epochs) == [1, 2]
        submission = session.scalar(select(Submission).where(Submission.id == run.submission_id))
        assert submission is not None and submission.status == "finished"


def test_a_spec_that_no_longer_parses_fails_with_a_reason(sqlite_settings: Settings) -> None:
    (run_id,) = make_submission(sqlite_settings)
    with session_scope(sqlite_settings.database_url) as session:
        sub_id = session.scalar(select(Run.submission_id).where(Run.id == run_id))
        session.execute(update(Submission).where(Submission.id == sub_id).values(spec={"family": "nope"}))
    assert execute_run(sqlite_settings, run_id) == "failed"
    with session_scope(sqlite_settings.database_url) as session:
        run = session.get(Run, run_id)
        assert run is not None and run.status == "failed" and run.error_kind == "invalid_spec"
        assert "nope" in (run.error_message or "")
        assert session.scalar(select(func.count()).select_from(EpochMetric)) == 0
