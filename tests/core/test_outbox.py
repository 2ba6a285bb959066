"""The outbox and its relay against a real SQLite database and kombu's real SQLAlchemy broker transport: rows are
written with the change or not at all, a relay's lease keeps other relays off its rows, sent messages are found
in the broker by run id, and a sweep sends again exactly the queued runs the broker lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, text, update

from app.core.config import Settings
from app.core.db.session import get_engine, session_scope
from app.core.db.tables import OutboxMessage, Run, utcnow
from app.core.queue import broker, outbox
from app.core.queue.relay import Relay
from app.submissions.schemas import SubmissionIn
from app.submissions.service import create_submission
from app.users.service import get_or_create_user


def new_runs(settings: Settings, seeds: int = 2) -> list[int]:
    with session_scope(settings.database_url) as session:
        user = get_or_create_user(session, "outbox")
        body = SubmissionIn(name="o", spec={"preset": "tiny_resnet_digits", "overrides": {}}, seeds=seeds)
        return [run.id for run in create_submission(session, user, body, max_epochs=2).runs]


def all_rows(settings: Settings) -> list[OutboxMessage]:
    with session_scope(settings.database_url) as session:
        return list(session.query(OutboxMessage).order_by(OutboxMessage.id))


def lose_message(settings: Settings, run_id: int) -> None:
    """The broker loses the message of one run (kombu's SQLAlchemy transport keeps one row per message)."""
    broker_db = get_engine(settings.broker_url.removeprefix("sqla+"))
    with broker_db.begin() as conn:
        rows = conn.execute(text("SELECT id, payload FROM kombu_message")).all()
        doomed = [row_id for row_id, payload in rows if broker._run_id_of(payload) == run_id]
        assert len(doomed) == 1
        conn.execute(text("DELETE FROM kombu_message WHERE id = :id"), {"id": doomed[0]})


def test_rows_are_written_with_the_change_or_not_at_all(sqlite_settings: Settings) -> None:
    ids = new_runs(sqlite_settings)
    assert [r.run_id for r in all_rows(sqlite_settings)] == ids
    with pytest.raises(RuntimeError), session_scope(sqlite_settings.database_url) as session:
        user = get_or_create_user(session, "outbox")
        body = SubmissionIn(name="rolled back", spec={"preset": "tiny_vit_digits", "overrides": {}}, seeds=1)
        create_submission(session, user, body, max_epochs=2)
        raise RuntimeError("the request failed after queuing")
    assert [r.run_id for r in all_rows(sqlite_settings)] == ids


def test_a_lease_keeps_other_relays_off_until_it_ends(sqlite_settings: Settings) -> None:
    ids = new_runs(sqlite_settings, seeds=3)
    now = utcnow()
    with session_scope(sqlite_settings.database_url) as session:
        mine = outbox.claim_batch(session, "a", now, lease_s=30, limit=2)
    with session_scope(sqlite_settings.database_url) as session:
        theirs = outbox.claim_batch(session, "b", now, lease_s=30, limit=10)
    assert [run for _, run in mine] == ids[:2] and [run for _, run in theirs] == ids[2:]
    with session_scope(sqlite_settings.database_url) as session:
        assert outbox.claim_batch(session, "c", now + timedelta(seconds=10), lease_s=30, limit=10) == []
        taken_over = outbox.claim_batch(session, "c", now + timedelta(seconds=31), lease_s=30, limit=10)
    assert sorted(run for _, run in taken_over) == ids  # relays a and b died: their leases ended


def test_sent_runs_are_found_in_the_broker_by_run_id(sqlite_settings: Settings) -> None:
    ids = new_runs(sqlite_settings)
    done = Relay(sqlite_settings).run_once(sweep=False)
    assert (done.sent, done.failed) == (2, 0)
    assert all(r.sent_at is not None for r in all_rows(sqlite_settings))
    assert broker.queued_run_ids(sqlite_settings.broker_url, sqlite_settings.queue) == set(ids)
    assert broker.queued_run_ids(sqlite_settings.broker_url, "another-queue") == set()


def test_a_sweep_sends_again_only_what_the_broker_lost(sqlite_settings: Settings) -> None:
    kept, lost = new_runs(sqlite_settings)
    relay = Relay(sqlite_settings)
    relay.run_once(sweep=False)
    assert relay.sweep(older_than_s=0) == 0  # both messages are in the broker
    lose_message(sqlite_settings, lost)
    assert broker.queued_run_ids(sqlite_settings.broker_url, sqlite_settings.queue) == {kept}
    assert relay.sweep(older_than_s=60) == 0  # sent a moment ago: it may still be on its way
    assert relay.sweep(older_than_s=0) == 1
    assert relay.sweep(older_than_s=0) == 0  # its new row is unsent: not lost twice
    relay.send_pending()
    assert broker.queued_run_ids(sqlite_settings.broker_url, sqlite_settings.queue) == {kept, lost}
    assert [r.run_id for r in all_rows(sqlite_settings)] == [kept, lost, lost]


def test_runs_that_are_no_longer_queued_are_never_sent_again(sqlite_settings: Settings) -> None:
    ids = new_runs(sqlite_settings)
    relay = Relay(sqlite_settings)
    relay.run_once(sweep=False)
    with session_scope(sqlite_settings.database_url) as session:  # claimed by a worker, and its message acked
        session.execute(update(Run).where(Run.id.in_(ids)).values(status="running"))
    broker_db = get_engine(sqlite_settings.broker_url.removeprefix("sqla+"))
    with broker_db.begin() as conn:
        conn.execute(text("DELETE FROM kombu_message"))
    assert relay.sweep(older_than_s=0) == 0


def test_queued_runs_from_before_the_outbox_are_sent_by_the_first_sweep(sqlite_settings: Settings) -> None:
    ids = new_runs(sqlite_settings)
    with session_scope(sqlite_settings.database_url) as session:
        session.execute(delete(OutboxMessage))
    assert Relay(sqlite_settings).run_once(sweep=True, older_than_s=0).resent_lost == len(ids)
    assert broker.queued_run_ids(sqlite_settings.broker_url, sqlite_settings.queue) == set(ids)
