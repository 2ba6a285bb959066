"""Fair scheduling at the claim, on real database rows (SQLite, and PostgreSQL where it answers): a user with 30
queued runs does not delay a user with one; concurrent claims never take a run twice; the broker's messages are
fungible wake-ups, and the relay's sweep still gives every queued run a message."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.core.config import Settings
from app.core.db.session import session_scope
from app.core.db.tables import Run, RunStatus, Submission, utcnow
from app.core.queue import broker, fairness
from app.core.queue.fairness import QueuedRun, fair_order
from app.core.queue.relay import Relay
from app.runs import lifecycle
from app.submissions.schemas import SubmissionIn
from app.submissions.service import create_submission
from app.users.service import get_or_create_user
from tests.core.test_outbox import lose_message
from tests.runs.fresh_pg import fresh_database
from workers import runner


@pytest.fixture
def own_pg(sqlite_settings: Settings, redis_url: str) -> Iterator[Settings]:
    """PostgreSQL and Redis, with a database of this test's own (the fair order must see only its runs)."""
    with fresh_database() as url:
        yield sqlite_settings.model_copy(update={"database_url": url, "broker_url": redis_url})


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest) -> Settings:
    """On CPU (no batching) wherever the tests run, so that each claim takes one run."""
    found: Settings = request.getfixturevalue("sqlite_settings" if request.param == "sqlite" else "own_pg")
    return found.model_copy(update={"device": "cpu"})


def submit(settings: Settings, user: str, seeds: int, width: int) -> list[int]:
    with session_scope(settings.database_url) as session:
        owner = get_or_create_user(session, user)
        spec = {"preset": "tiny_resnet_digits", "overrides": {"stem_width": width}}
        body = SubmissionIn(name=f"{user}-{width}", spec=spec, seeds=seeds)
        return [run.id for run in create_submission(session, owner, body, max_epochs=settings.max_epochs).runs]


def owner_of(settings: Settings, run_id: int) -> str:
    with session_scope(settings.database_url) as session:
        run = session.get(Run, run_id)
        assert run is not None
        return str(session.scalar(select(Submission.name).where(Submission.id == run.submission_id))).split("-")[0]


def claim_and_finish(settings: Settings) -> list[int]:
    """One worker's turn without the training: claim the fair-next run(s), end them at once."""
    claim = runner.claim_next(settings)
    assert claim is not None
    with session_scope(settings.database_url) as session:
        for run in claim.runs:
            assert lifecycle.finish(session, run, {"wall_seconds": 1.0})
    return [run.run_id for run in claim.runs]


def test_the_fair_order_alternates_users_by_their_compute_in_use() -> None:
    t0 = utcnow()
    heavy = [QueuedRun(i, 1, 100 + i // 3, t0 + timedelta(seconds=i), 10.0) for i in range(1, 31)]
    light = QueuedRun(99, 2, 200, t0 + timedelta(seconds=60), 10.0)
    order = fair_order([*heavy, light], usage={})
    assert [r.run_id for r in order[:3]] == [1, 99, 2] and len(order) == 31
    order = fair_order([*heavy, light], usage={1: 10.0})  # the heavy user has a run training now
    assert order[0].run_id == 99
    order = fair_order([*heavy, light], usage={2: 25.0})  # the light one used 2.5 runs' worth in the last hour
    assert [r.run_id for r in order[:4]] == [1, 2, 3, 99]
    print(
        "fair order, 30 runs of A queued first, then 1 of B:", [r.run_id for r in fair_order([*heavy, light], {})][:5]
    )


def test_a_user_with_30_queued_runs_does_not_delay_a_user_with_one(settings: Settings) -> None:
    heavy = [run_id for width in range(8, 18) for run_id in submit(settings, "heavy", 3, width)]
    assert len(heavy) == 30
    (light,) = submit(settings, "light", 1, 30)
    first = claim_and_finish(settings)
    second = claim_and_finish(settings)
    print(f"claims: {first} then {second}; the light user's run {light} was queued after all 30")
    assert first == [heavy[0]] and second == [light]  # the light user waited for one run, not thirty
    rest = [run_id for _ in range(29) for run_id in claim_and_finish(settings)]
    assert sorted(rest) == sorted(heavy[1:])
    assert runner.claim_next(settings) is None


def test_concurrent_claims_never_take_a_run_twice(own_pg: Settings) -> None:
    pg_settings = own_pg.model_copy(update={"device": "cpu"})
    ids = [run_id for i, user in enumerate("abcd") for run_id in submit(pg_settings, user, 5, 10 + i)]
    claimed: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        while True:
            claim = runner.claim_next(pg_settings)
            if claim is None:
                return
            with lock:
                claimed.extend(run.run_id for run in claim.runs)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(claimed) == sorted(ids)  # each exactly once
    with session_scope(pg_settings.database_url) as session:
        assert set(session.scalars(select(Run.attempts).where(Run.id.in_(ids)))) == {1}


def test_any_message_wakes_a_worker_for_the_fair_next_run_and_the_sweep_keeps_one_per_queued_run(
    sqlite_settings: Settings,
) -> None:
    settings = sqlite_settings.model_copy(update={"batch_seeds": False, "device": "cpu"})
    hog = submit(settings, "hog", 2, 12)
    relay = Relay(settings)
    relay.send_pending()
    # The hog has a run training: a newcomer's run is due before the hog's second one.
    with session_scope(settings.database_url) as session:
        assert lifecycle.claim(session, hog[0], worker="w:1", device="cpu", max_epochs=2) is not None
    (newcomer,) = submit(settings, "newcomer", 1, 20)
    relay.send_pending()
    with session_scope(settings.database_url) as session:
        nxt = fairness.next_queued(session)
        assert nxt is not None and nxt.run_id == newcomer
    lose_message(settings, hog[1])  # a worker took the hog's message ...
    claim = runner.claim_next(settings, hint=hog[1])  # ... and was given the newcomer's run
    assert claim is not None and [r.run_id for r in claim.runs] == [newcomer]
    present = broker.queued_run_ids(settings.broker_url, settings.queue)
    assert present is not None and hog[1] not in present and newcomer in present
    assert relay.run_once(sweep=True, older_than_s=0).resent_lost == 1  # the hog's queued run: sent again
    present = broker.queued_run_ids(settings.broker_url, settings.queue)
    assert present is not None and hog[1] in present
    with session_scope(settings.database_url) as session:
        queued = set(session.scalars(select(Run.id).where(Run.status == RunStatus.QUEUED)))
    assert queued == {hog[1]} and queued <= present  # every queued run has a message
