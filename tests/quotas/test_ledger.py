"""Who pays, in run-seconds, on a migrated SQLite database through the real API and the real run lifecycle:
a submission reserves its projected seconds; ended runs settle with what they used; a spec's own time-out or
out-of-memory is charged, a crashed worker refunded; deleting never gives anything back; duplicates are free."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.benchmarks.recipes import capped_epochs
from app.benchmarks.registry import get_benchmark
from app.core.config import Settings
from app.core.db.session import session_scope
from app.core.db.tables import QuotaCharge, Run, Submission, User
from app.core.units import duration
from app.quotas import service as quotas
from app.runs import lifecycle
from app.runs import repository as runs_repo
from app.runs.recovery import reap
from app.specs.validation import validate_spec
from app.users.service import create_token

DIGITS = get_benchmark("digits")


def spec(stem_width: int = 16) -> dict[str, object]:
    return {"preset": "tiny_resnet_digits", "overrides": {"stem_width": stem_width}}


def token(settings: Settings, name: str, *, admin: bool = False) -> dict[str, str]:
    with session_scope(settings.database_url) as session:
        headers = {"Authorization": f"Bearer {create_token(session, name)}"}
        if admin:
            found = session.scalar(select(User).where(User.name == name))
            assert found is not None
            found.is_admin = True
        return headers


def used(settings: Settings, name: str) -> float:
    with session_scope(settings.database_url) as session:
        found = session.scalar(select(User).where(User.name == name))
        assert found is not None
        return quotas.quota_for(session, found, "digits").used


def charges(settings: Settings) -> list[QuotaCharge]:
    with session_scope(settings.database_url) as session:
        return list(session.scalars(select(QuotaCharge).order_by(QuotaCharge.id)))


def runs_of(settings: Settings, submission_id: int) -> list[Run]:
    with session_scope(settings.database_url) as session:
        return list(session.scalars(select(Run).where(Run.submission_id == submission_id).order_by(Run.seed)))


def test_a_submission_reserves_its_projection_and_deleting_never_refunds(
    client: TestClient, sqlite_settings: Settings
) -> None:
    alice = token(sqlite_settings, "alice")
    res = client.post("/api/v1/submissions", json={"name": "a", "spec": spec(), "seeds": 3}, headers=alice)
    assert res.status_code == 201, res.text
    sid = res.json()["id"]
    with session_scope(sqlite_settings.database_url) as session:
        stored = session.get(Submission, sid)
        assert stored is not None and stored.train_s_per_image
        per_run = stored.train_s_per_image * DIGITS.n_train * capped_epochs(DIGITS.recipe, sqlite_settings.max_epochs)
    runs = runs_of(sqlite_settings, sid)
    assert [r.projected_seconds for r in runs] == pytest.approx([per_run] * 3)
    rows = charges(sqlite_settings)
    assert [(c.run_id, c.action, c.settled_at) for c in rows] == [(r.id, "submit", None) for r in runs]
    limit = quotas.daily_limit("digits")
    print(f"digits: {per_run:.2f} s per run at max_epochs=2, daily limit {limit} s")
    assert res.headers["x-quota-limit"] == str(limit) and res.headers["x-quota-charged"] == str(round(3 * per_run))
    assert int(res.headers["x-quota-remaining"]) == int(limit - 3 * per_run)
    before = used(sqlite_settings, "alice")
    assert before == pytest.approx(3 * per_run)

    assert client.delete(f"/api/v1/submissions/{sid}", headers=alice).status_code == 204
    assert used(sqlite_settings, "alice") == pytest.approx(before)  # deleting gives nothing back
    assert len(charges(sqlite_settings)) == 3
    again = client.post("/api/v1/submissions", json={"name": "b", "spec": spec(20), "seeds": 1}, headers=alice)
    assert int(again.headers["x-quota-remaining"]) == int(limit - 4 * per_run)


def test_over_the_remaining_seconds_is_429_naming_projection_and_what_is_left(
    client: TestClient, sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(quotas.DAILY_SECONDS, "digits", 2)
    alice = token(sqlite_settings, "alice")
    first = client.post("/api/v1/submissions", json={"name": "a", "spec": spec(), "seeds": 3}, headers=alice)
    assert first.status_code == 201, first.text
    over = client.post("/api/v1/submissions", json={"name": "b", "spec": spec(20), "seeds": 3}, headers=alice)
    assert over.status_code == 429, over.text
    detail = over.json()["detail"]
    print(detail)
    spent = sum(r.projected_seconds or 0.0 for r in runs_of(sqlite_settings, first.json()["id"]))
    with session_scope(sqlite_settings.database_url) as session:
        width20 = session.scalar(select(Run.projected_seconds).join(Submission).where(Submission.name == "b"))
    assert width20 is None  # rolled back with the refusal
    asked = 3 * DIGITS.run_seconds(
        validate_spec("digits", spec(20)).cost.train_s_per_image, epochs=sqlite_settings.max_epochs
    )
    assert f"This submission (3 runs): projected {duration(asked)} of training on 'digits'" in detail
    assert f"your daily budget has {duration(2 - spent)} of {duration(2)} run-seconds left" in detail
    assert "nothing was queued" in detail
    assert 0 < int(over.headers["retry-after"]) <= 86_400 and over.headers["x-quota-remaining"] == "0"
    assert [s["name"] for s in client.get("/api/v1/submissions").json()] == ["a"]  # nothing was created
    assert len(charges(sqlite_settings)) == 3

    # A duplicate of an existing spec costs nothing, even with nothing left.
    dup = client.post("/api/v1/submissions", json={"name": "again", "spec": spec(), "seeds": 3}, headers=alice)
    assert dup.status_code == 200 and dup.json()["id"] == first.json()["id"]
    assert len(charges(sqlite_settings)) == 3


def claim_as(settings: Settings, run_id: int, worker: str) -> lifecycle.ClaimedRun:
    with session_scope(settings.database_url) as session:
        held = lifecycle.claim(session, run_id, worker=worker, device="cpu", max_epochs=settings.max_epochs)
        assert held is not None
        return held


def test_the_spec_pays_for_its_timeouts_and_ooms_the_platform_for_its_crashes(
    client: TestClient, sqlite_settings: Settings
) -> None:
    alice, root = token(sqlite_settings, "alice"), token(sqlite_settings, "root", admin=True)
    res = client.post("/api/v1/submissions", json={"name": "a", "spec": spec(), "seeds": 4}, headers=alice)
    sid = res.json()["id"]
    timed_out, oom, finished, crashed = (r.id for r in runs_of(sqlite_settings, sid))
    projected = runs_of(sqlite_settings, sid)[0].projected_seconds or 0.0
    held = [claim_as(sqlite_settings, run_id, "w:1") for run_id in (timed_out, oom, finished)]
    with session_scope(sqlite_settings.database_url) as session:
        assert lifecycle.fail(session, held[0], "timeout", "too slow", seconds=40.0)
        assert lifecycle.fail(session, held[1], "oom", "too big", seconds=7.0)
        assert lifecycle.finish(session, held[2], {"wall_seconds": 3.0})
    for attempt in range(sqlite_settings.max_attempts):  # the worker holding it dies every time
        claim_as(sqlite_settings, crashed, f"gone:{attempt}")
        reap(sqlite_settings, now=datetime.now(UTC).replace(year=2999))
    settled = {c.run_id: (c.outcome, c.seconds) for c in charges(sqlite_settings)}
    assert settled == {
        timed_out: ("timeout", 40.0),
        oom: ("oom", 7.0),
        finished: ("finished", 3.0),
        crashed: ("crashed", 0.0),
    }
    assert used(sqlite_settings, "alice") == pytest.approx(50.0)

    # Re-running its own failures is charged again (the projection, until they end) ...
    rerun = client.post(f"/api/v1/submissions/{sid}/rerun", json={}, headers=alice)
    assert rerun.status_code == 200, rerun.text
    assert used(sqlite_settings, "alice") == pytest.approx(50.0 + 3 * projected)
    # ... while a re-run of runs the platform lost is free, and an admin's costs the owner nothing.
    other = client.post("/api/v1/submissions", json={"name": "b", "spec": spec(24), "seeds": 1}, headers=alice)
    (lost,) = (r.id for r in runs_of(sqlite_settings, other.json()["id"]))
    for attempt in range(sqlite_settings.max_attempts):
        claim_as(sqlite_settings, lost, f"gone:{attempt}")
        reap(sqlite_settings, now=datetime.now(UTC).replace(year=2999))
    before = used(sqlite_settings, "alice")
    assert client.post(f"/api/v1/submissions/{other.json()['id']}/rerun", json={}, headers=alice).status_code == 200
    assert client.post(f"/api/v1/submissions/{sid}/rerun", json={"all": True}, headers=root).status_code in (200, 409)
    assert used(sqlite_settings, "alice") == pytest.approx(before)


def test_a_run_is_settled_once_with_its_latest_charge(sqlite_settings: Settings) -> None:
    from app.submissions.schemas import SubmissionIn
    from app.submissions.service import submit
    from app.users.service import get_or_create_user

    with session_scope(sqlite_settings.database_url) as session:
        user = get_or_create_user(session, "carol")
        outcome = submit(session, user, SubmissionIn(name="c", spec=spec(), seeds=1), max_epochs=2)
        (run_id,) = (r.id for r in outcome.submission.runs)
    with session_scope(sqlite_settings.database_url) as session:
        runs_repo.settle_charge(session, run_id, 5.0, "finished")
        runs_repo.settle_charge(session, run_id, 9.0, "finished")  # nothing open any more: no effect
    assert [(c.seconds, c.outcome) for c in charges(sqlite_settings)] == [(5.0, "finished")]
