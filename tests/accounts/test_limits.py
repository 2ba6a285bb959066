"""Daily quotas of run-seconds (counted, refused with 429, refunded for failures the platform caused, free for
duplicates) and the per-token rate limit on POST endpoints."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.config import Settings
from app.core.db.session import session_scope
from app.core.db.tables import Run
from app.quotas import service as quotas
from app.runs import lifecycle
from app.web.ratelimit import TokenBucket
from tests.submissions.test_api import token_for


def spec(preset: str) -> dict[str, object]:
    return {"preset": preset, "overrides": {}}


def post(client: TestClient, headers: dict[str, str], name: str, preset: str) -> object:
    return client.post("/api/v1/submissions", json={"name": name, "spec": spec(preset), "seeds": 1}, headers=headers)


def charged(settings: Settings, submission_id: int) -> float:
    """The run-seconds a submission's runs reserved (their projections)."""
    with session_scope(settings.database_url) as session:
        rows = session.scalars(select(Run.projected_seconds).where(Run.submission_id == submission_id))
        return sum(float(s or 0.0) for s in rows)


def test_quota_counts_refuses_refunds_and_skips_duplicates(
    client: TestClient, sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(quotas.DAILY_SECONDS, "digits", 3600)
    alice, bob = token_for(sqlite_settings, "alice"), token_for(sqlite_settings, "bob")
    first = client.post("/api/v1/submissions", json={"name": "r", "spec": spec("tiny_resnet_digits")}, headers=alice)
    assert first.status_code == 201, first.text
    cost = charged(sqlite_settings, first.json()["id"])
    assert first.headers["x-quota-limit"] == "3600" and first.headers["x-quota-remaining"] == str(int(3600 - cost))
    tomorrow = datetime.fromisoformat(first.headers["x-quota-reset"].replace("Z", "+00:00"))
    assert tomorrow.tzinfo == UTC and tomorrow > datetime.now(UTC) and (tomorrow.hour, tomorrow.minute) == (0, 0)
    second = client.post("/api/v1/submissions", json={"name": "m", "spec": spec("tiny_mixer_digits")}, headers=alice)
    assert second.status_code == 201
    spent = cost + charged(sqlite_settings, second.json()["id"])
    monkeypatch.setitem(quotas.DAILY_SECONDS, "digits", spent)  # type: ignore[arg-type]  # nothing more fits today

    over = client.post("/api/v1/submissions", json={"name": "v", "spec": spec("tiny_vit_digits")}, headers=alice)
    assert over.status_code == 429
    assert "run-seconds left, resets 00:00 UTC" in over.json()["detail"]
    assert 0 < int(over.headers["retry-after"]) <= 86_400 and over.headers["x-quota-remaining"] == "0"

    # A duplicate of an existing spec (anyone's) costs nothing, even with no quota left: 200 and the original.
    dup = client.post("/api/v1/submissions", json={"name": "again", "spec": spec("tiny_resnet_digits")}, headers=alice)
    assert dup.status_code == 200, dup.text
    assert dup.json()["id"] == first.json()["id"] and dup.headers["x-duplicate-of"] == str(first.json()["id"])
    by_bob = client.post("/api/v1/submissions", json={"name": "b", "spec": spec("tiny_mixer_digits")}, headers=bob)
    assert by_bob.status_code == 200 and by_bob.json()["id"] == second.json()["id"]
    assert by_bob.headers["x-quota-remaining"] == str(int(spent))  # bob spent nothing
    assert len(client.get("/api/v1/submissions").json()) == 2

    # Every run of the first was lost with its worker (the platform's fault): settled at 0, it no longer counts.
    for run_id in [r["id"] for r in first.json()["runs"]]:
        with session_scope(sqlite_settings.database_url) as session:
            held = lifecycle.claim(session, run_id, worker="w:1", device="cpu", max_epochs=2)
        with session_scope(sqlite_settings.database_url) as session:
            assert held is not None and lifecycle.fail(session, held, "crashed", "worker lost", seconds=30.0)
    narrower = {"preset": "tiny_resnet_digits", "overrides": {"stem_width": 8}}
    refunded = client.post("/api/v1/submissions", json={"name": "p", "spec": narrower, "seeds": 1}, headers=alice)
    assert refunded.status_code == 201, refunded.text
    assert charged(sqlite_settings, refunded.json()["id"]) < cost


def test_a_submitters_own_failure_is_not_refunded(
    client: TestClient, sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = token_for(sqlite_settings, "alice")
    first = client.post("/api/v1/submissions", json={"name": "r", "spec": spec("tiny_resnet_digits")}, headers=alice)
    monkeypatch.setitem(quotas.DAILY_SECONDS, "digits", math.ceil(charged(sqlite_settings, first.json()["id"])))
    for run_id in [r["id"] for r in first.json()["runs"]]:
        with session_scope(sqlite_settings.database_url) as session:
            held = lifecycle.claim(session, run_id, worker="w:1", device="cpu", max_epochs=2)
        with session_scope(sqlite_settings.database_url) as session:  # its own: charged what it used
            assert held is not None and lifecycle.fail(session, held, "oom", "out of memory", seconds=60.0)
    again = client.post("/api/v1/submissions", json={"name": "m", "spec": spec("tiny_mixer_digits")}, headers=alice)
    assert again.status_code == 429


def test_web_form_shows_the_quota_error(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    monkeypatch.setitem(quotas.DAILY_SECONDS, "digits", 0)
    page = client.get("/submit")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    form = {"name": "x", "spec": '{"preset": "tiny_resnet_digits"}', "csrf_token": token.group(1)}
    res = client.post("/submit", data=form)
    assert res.status_code == 429 and "0.0 s of 0.0 s run-seconds left, resets 00:00 UTC" in res.text


def test_rate_limit_answers_429_with_retry_after(client: TestClient, sqlite_settings: Settings) -> None:
    now = [0.0]
    client.app.state.rate_limiter = TokenBucket(per_minute=2, capacity=2, clock=lambda: now[0])  # type: ignore[attr-defined]
    body = {"benchmark": "digits", "spec": spec("tiny_resnet_digits")}
    assert client.post("/api/v1/specs/validate", json=body).status_code == 200
    assert client.post("/api/v1/specs/validate", json=body).status_code == 200
    limited = client.post("/api/v1/specs/validate", json=body)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "30"
    # Another token has its own bucket; GETs are never limited.
    other = token_for(sqlite_settings, "other")
    assert (
        client.post("/api/v1/submissions", json={"name": "x", "spec": body["spec"]}, headers=other).status_code == 201
    )
    assert client.get("/api/v1/submissions").status_code == 200
    now[0] += 30
    assert client.post("/api/v1/specs/validate", json=body).status_code == 200
