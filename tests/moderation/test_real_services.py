"""On the real PostgreSQL and Redis of this machine: the quota holds under concurrent submits, charged re-runs
count, and two app instances share one rate limit through Redis."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.benchmarks.registry import get_benchmark
from app.core.config import Settings
from app.core.db.migrate import upgrade
from app.core.db.session import get_sessionmaker, session_scope
from app.core.db.tables import Run
from app.main import create_app
from app.quotas import service as quotas
from app.quotas.service import QuotaExceeded
from app.specs.validation import validate_spec
from app.submissions import service
from app.submissions.schemas import SubmissionIn
from app.users.service import get_or_create_user
from app.web.ratelimit import RedisTokenBucket, TokenBucket
from tests.conftest import demo_settings
from tests.moderation.test_moderation import admin_token, fail_runs
from tests.submissions.test_api import TINY, token_for


def spec(i: int) -> dict[str, object]:
    return {"preset": "tiny_resnet_digits", "overrides": {"stem_width": 8 + i}}


@pytest.fixture
def pg_client(pg_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(pg_settings)) as test_client:
        yield test_client


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_concurrent_submits_never_share_the_last_quota_slot(
    database: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, roomy_measuring: None
) -> None:
    """2N threads, each with its own session, submit at once against a limit of N: exactly N get through
    (PostgreSQL: the user's row is locked before counting; SQLite: the write lock is taken before counting)."""
    pg_settings: Settings = request.getfixturevalue("pg_settings" if database == "postgresql" else "sqlite_settings")
    n = 4
    name = f"racer{secrets.token_hex(3)}"
    with session_scope(pg_settings.database_url) as session:
        user_id = get_or_create_user(session, name).id
    # specs 20–179, which no other test in this database submits (a duplicate joins its entry, free of charge)
    offset = 20 + secrets.randbelow(20) * 2 * n
    bodies = [SubmissionIn(name=f"race {i}", spec=spec(offset + i), seeds=1) for i in range(2 * n)]
    costs = {}  # measured now, so every thread reaches the quota check at the same moment
    for body in bodies:
        per_image = validate_spec(body.benchmark, body.spec).cost.train_s_per_image
        costs[body.name] = get_benchmark("digits").run_seconds(per_image, epochs=pg_settings.max_epochs)
    limit = sum(sorted(costs.values())[:n])  # room for about half of them, run-seconds
    monkeypatch.setitem(quotas.DAILY_SECONDS, "digits", limit)
    start = threading.Barrier(len(bodies))
    outcomes: list[str] = []
    lock = threading.Lock()

    def submit(body: SubmissionIn) -> None:
        session = get_sessionmaker(pg_settings.database_url)()
        try:
            user = session.get(quotas.User, user_id)
            assert user is not None
            start.wait()
            try:
                service.submit(session, user, body, max_epochs=pg_settings.max_epochs)
                session.commit()
                result = "accepted"
            except QuotaExceeded:
                session.rollback()
                result = "refused"
        finally:
            session.close()
        with lock:
            outcomes.append((result, body.name))

    threads = [threading.Thread(target=submit, args=(b,)) for b in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    accepted = [body for result, body in outcomes if result == "accepted"]
    refused = [body for result, body in outcomes if result == "refused"]
    assert len(outcomes) == 2 * n and accepted and refused
    spent = sum(costs[body] for body in accepted)
    with session_scope(pg_settings.database_url) as session:
        user = session.get(quotas.User, user_id)
        assert user is not None
        used = quotas.quota_for(session, user, "digits").used
    assert used == pytest.approx(spent) and used <= limit + 1e-9  # the lock: never over the budget
    assert all(used + costs[body] > limit for body in refused)  # and every refusal was right when it came


def test_charged_reruns_and_moderation_on_postgres(
    pg_client: TestClient, pg_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = token_for(pg_settings, f"owner{secrets.token_hex(3)}")
    root = admin_token(pg_settings, f"root{secrets.token_hex(3)}")
    res = pg_client.post("/api/v1/submissions", json={"name": "pg", "spec": spec(190), "seeds": 2}, headers=owner)
    assert res.status_code in (200, 201), res.text
    sid = res.json()["id"]
    with session_scope(pg_settings.database_url) as session:
        spent = sum(
            float(p or 0) for p in session.scalars(select(Run.projected_seconds).where(Run.submission_id == sid))
        )
    monkeypatch.setitem(quotas.DAILY_SECONDS, "digits", 2 * spent)  # room for the submission and one re-run
    fail_runs(pg_settings, sid, kind="oom")
    rerun = pg_client.post(f"/api/v1/submissions/{sid}/rerun", json={}, headers=owner)
    assert rerun.status_code == 200 and rerun.headers["x-quota-remaining"] == "0", rerun.text
    fail_runs(pg_settings, sid, kind="oom")
    refused = pg_client.post(f"/api/v1/submissions/{sid}/rerun", json={}, headers=owner)
    assert refused.status_code == 429 and "retry-after" in refused.headers
    assert pg_client.post(f"/api/v1/submissions/{sid}/rerun", json={}, headers=root).status_code == 200
    assert pg_client.post(f"/api/v1/submissions/{sid}/hide", json={"reason": "r"}, headers=root).status_code == 200
    entries = pg_client.get("/api/v1/benchmarks/digits/leaderboard").json()["entries"]
    assert sid not in [e["id"] for e in entries]
    log = pg_client.get("/api/v1/audit", headers=root).json()
    assert [e["action"] for e in log if e["target_id"] == sid][:3] == ["hide", "rerun", "rerun"]


def test_two_app_instances_share_one_rate_limit_through_redis(tmp_path: Path, redis_url: str) -> None:
    settings = demo_settings(tmp_path, broker_url=redis_url, rate_limit_per_minute=3)
    settings.ensure_dirs()
    upgrade(settings.database_url)
    caller = token_for(settings, f"caller{secrets.token_hex(3)}")  # a user of its own in the shared Redis
    body = {"benchmark": "digits", "spec": TINY}
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        answers = [(one if i % 2 else two).post("/api/v1/specs/validate", json=body, headers=caller) for i in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert isinstance(one.app.state.guards.requests, RedisTokenBucket)  # type: ignore[attr-defined]
        assert 1 <= int(answers[-1].headers["retry-after"]) <= 20
        other = token_for(settings, f"other{secrets.token_hex(3)}")
        assert one.post("/api/v1/specs/validate", json=body, headers=other).status_code == 200


def test_the_demo_limits_in_process_and_a_dead_redis_falls_back(sqlite_settings: Settings) -> None:
    assert isinstance(create_app(sqlite_settings).state.settings, Settings)
    dead = RedisTokenBucket("redis://127.0.0.1:1/0", per_minute=1, capacity=1)
    assert dead.take("k") == 0  # the process's own bucket answered
    assert dead.redis_retry_at > time.monotonic()  # and answers alone for a while: no 0.5 s wait per request
    assert dead.take("k") > 0
    dead.redis_retry_at = 0.0  # once the pause is over, Redis is asked again (and is still down)
    assert dead.take("other") == 0 and dead.redis_retry_at > time.monotonic()
    assert isinstance(TokenBucket().take("k"), float)
