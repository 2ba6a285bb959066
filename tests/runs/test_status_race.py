"""Two workers that finish a submission's last two runs at the same moment must leave it 'finished': without the
row lock each transaction counts the other's run as still running (neither sees the other's uncommitted write)
and the submission stays 'running' for good. Run on PostgreSQL (READ COMMITTED), where the race is real."""

from __future__ import annotations

import threading

from app.core.config import Settings
from app.core.db.session import session_scope
from app.core.db.tables import RunStatus, Submission
from app.runs import lifecycle
from app.runs.lifecycle import ClaimedRun
from app.submissions.schemas import SubmissionIn
from app.submissions.service import create_submission
from app.users.service import get_or_create_user

RESULT = {"train_acc": 0.9, "val_acc": 0.9, "test_acc": 0.9, "device": "cpu", "recipe_version": "digits-v2"}


def claimed_runs(settings: Settings, name: str) -> tuple[int, list[ClaimedRun]]:
    with session_scope(settings.database_url) as session:
        user = get_or_create_user(session, "racer")
        body = SubmissionIn(name=name, spec={"preset": "tiny_resnet_digits", "overrides": {}}, seeds=2)
        submission = create_submission(session, user, body, max_epochs=2)
        ids = [run.id for run in submission.runs]
    runs = []
    for i, run_id in enumerate(ids):
        with session_scope(settings.database_url) as session:
            claimed = lifecycle.claim(session, run_id, worker=f"w{i}:1", device="cpu", max_epochs=2)
            assert claimed is not None
            runs.append(claimed)
    return runs[0].submission_id, runs


def finish(settings: Settings, run: ClaimedRun, start: threading.Barrier) -> None:
    with session_scope(settings.database_url) as session:
        start.wait()
        lifecycle.finish(session, run, RESULT)


def test_two_runs_finishing_at_once_leave_the_submission_finished(pg_settings: Settings) -> None:
    trials, stuck = 20, 0
    for trial in range(trials):
        submission_id, runs = claimed_runs(pg_settings, f"race {trial}")
        start = threading.Barrier(len(runs))
        threads = [threading.Thread(target=finish, args=(pg_settings, run, start)) for run in runs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        with session_scope(pg_settings.database_url) as session:
            status = session.get(Submission, submission_id).status  # type: ignore[union-attr]
        stuck += status != RunStatus.FINISHED
    print(f"\n{trials} simultaneous last-two finishes: {stuck} submissions left unfinished")
    assert stuck == 0
