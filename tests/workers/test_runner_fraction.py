"""A submission with a training-set fraction, through the real run lifecycle: the worker trains on the subset
and files the result under the fraction's recipe version, which keeps it off the full-data leaderboard."""

from __future__ import annotations

from app.benchmarks.registry import get_benchmark
from app.core.config import Settings
from app.core.db.session import session_scope
from app.core.db.tables import Run
from app.entries.board import board
from app.submissions.schemas import SubmissionIn
from app.submissions.service import create_submission
from app.users.service import get_or_create_user
from workers.runner import execute_run


def test_fraction_run_is_filed_under_its_own_recipe_version(sqlite_settings: Settings) -> None:
    with session_scope(sqlite_settings.database_url) as session:
        user = get_or_create_user(session, "fraction-test")
        body = SubmissionIn(name="f", spec={"preset": "tiny_plain_digits", "overrides": {}}, seeds=2)
        submission = create_submission(session, user, body, max_epochs=sqlite_settings.max_epochs, train_fraction=0.3)
        assert submission.train_fraction == 0.3 and submission.recipe_version == "digits-v2+epochs2+train30%"
        run_id, sub_id = submission.runs[0].id, submission.id
    assert execute_run(sqlite_settings, run_id) == "finished"
    with session_scope(sqlite_settings.database_url) as session:
        run = session.get(Run, run_id)
        assert run is not None and run.status == "finished"
        assert run.recipe_version == "digits-v2+epochs2+train30%"
        entries = board(session, get_benchmark("digits"), sqlite_settings.max_epochs).entries
        assert sub_id not in [e.id for e in entries]
