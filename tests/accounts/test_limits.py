"""Daily quotas (counted, refused with 429, refunded for infrastructure failures, free for duplicates) and the
per-token rate limit on POST endpoints."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from app.core.config import Settings
from app.core.db.session import session_scope
from app.core.db.tables import Run, RunStatus
from app.quotas import service as quotas
from app.web.ratelimit import TokenBucket
from tests.submissions.test_api import token_for


def spec(preset: str) -> dict[str, object]:
    return {"preset": preset, "overrides": {}}


def post(client: TestClient, headers: dict[str, str], name: str, preset: str) -> object:
    return client.post("/api/v1/submissions", json={"name": name, "spec": spec(preset), "seeds": 1}, headers=headers)


def test_quota_counts_refuses_refunds_and_skips_duplicates(
    client: TestClient, sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(quotas.DAILY_LIMITS, "digits", 2)
    alice, bob = token_for(sqlite_settings, "alice"), token_for(sqlite_settings, "bob")
    first = client.post("/api/v1/submissions", json={"name": "r", "spec": spec("tiny_resnet_digits")}, headers=alice)
    assert first.status_code == 201, first.text
    assert first.headers["x-quota-limit"] == "2" and first.headers["x-quota-remaining"] == "1"
    tomorrow = datetime.fromisoformat(first.headers["x-quota-reset"].replace("Z", "+00:00"))
    assert tomorrow.tzinfo == UTC and tomorrow > datetime.now(UTC) and (tomorrow.hour, tomorrow.minute) == (0, 0)
    second = client.post("/api/v1/submissions", json={"name": "m", "spec": spec("tiny_mixer_digits")}, headers=alice)
    assert second.status_code == 201 and second.headers["x-quota-remaining"] == "0"

    over = client.post("/api/v1/submissions", json={"name": "v", "spec": spec("tiny_vit_digits")}, headers=alice)
    assert over.status_code == 429
    assert "0 of 2 left, resets 00:00 UTC" in over.json()["detail"]
    assert 0 < int(over.headers["retry-after"]) <= 86_400 and over.headers["x-quota-remaining"] == "0"

    # A duplicate of an existing spec (anyone's) costs nothing, even with no quota left: 200 and the original.
    dup = client.post("/api/v1/submissions", json={"name": "again", "spec": spec("tiny_resnet_digits")}, headers=alice)
    assert dup.status_code == 200, dup.text
    assert dup.json()["id"] == first.json()["id"] and dup.headers["x-duplicate-of"] == str(first.json()["id"])
    by_bob = client.post("/api/v1/submissions", json={"name": "b", "spec": spec("tiny_mixer_digits")}, headers=bob)
    assert by_bob.status_code == 200 and by_bob.json()["id"] == second.json()["id"]
    assert by_bob.headers["x-quota-remaining"] == "2"  # bob spent nothing
    assert len(client.get("/api/v1/submissions").json()) == 2

    # Every run of the first crashed or timed out (the platform's fault): it no longer counts.
    with session_scope(sqlite_settings.database_url) as session:
        session.execute(
            update(Run)
            .where(Run.submission_id == first.json()["id"])
            .values(status=RunStatus.FAILED, error_kind="crashed")
        )
    refunded = client.post("/api/v1/submissions", json={"name": "v", "spec": spec("tiny_vit_digits")}, headers=alice)
    assert refunded.status_code == 201 and refunded.headers["x-quota-remaining"] == "0"


def test_a_submitters_own_failure_is_not_refunded(
    client: TestClient, sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(quotas.DAILY_LIMITS, "digits", 1)
    alice = token_for(sqlite_settings, "alice")
    first = client.post("/api/v1/submissions", json={"name": "r", "spec": spec("tiny_resnet_digits")}, headers=alice)
    with session_scope(sqlite_settings.database_url) as session:
        session.execute(
            update(Run).where(Run.submission_id == first.json()["id"]).values(status=RunStatus.FAILED, error_kind="oom")
        )
    again = client.post("/api/v1/submissions", json={"name": "m", "spec": spec("tiny_mixer_digits")}, headers=alice)
    assert again.status_code == 429


def test_web_form_shows_the_quota_error(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    monkeypatch.setitem(quotas.DAILY_LIMITS, "digits", 0)
    page = client.get("/submit")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    form = {"name": "x", "spec": '{"preset": "tiny_resnet_digits"}', "csrf_token": token.group(1)}
    res = client.post("/submit", data=form)
    assert res.status_code == 429 and "0 of 0 left, resets 00:00 UTC" in res.text


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
