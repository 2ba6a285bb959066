"""Rate limits keyed on who the caller proves to be: the user behind a token or session (one budget however many
tokens, however the header is spelled), else the client address (X-Forwarded-For only from a trusted proxy);
every POST and DELETE spends it; sign-up and log-in are throttled per address and per name, with back-off; and
password hashing is bounded so a guessing loop cannot take the pages down."""

from __future__ import annotations

import secrets
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.db.migrate import upgrade
from app.core.db.session import session_scope
from app.main import create_app
from app.users import service as users
from app.users.service import create_token
from app.web.ratelimit import Backoff, TokenBucket
from tests.accounts.test_accounts import csrf, sign_up
from tests.conftest import demo_settings
from tests.submissions.test_api import TINY

VALIDATE = {"benchmark": "digits", "spec": TINY}


def limited(client: TestClient, per_minute: float) -> list[float]:
    """Give the app a frozen-clock bucket of ``per_minute``; returns the clock to move."""
    now = [0.0]
    client.app.state.rate_limiter = TokenBucket(per_minute=per_minute, capacity=per_minute, clock=lambda: now[0])  # type: ignore[attr-defined]
    return now


def token_of(settings: Settings, user: str) -> str:
    with session_scope(settings.database_url) as session:
        return create_token(session, user)


def test_spelling_the_header_differently_is_the_same_caller(client: TestClient, sqlite_settings: Settings) -> None:
    limited(client, 3)
    token = token_of(sqlite_settings, "speller")
    spellings = [f"Bearer {token}", f"bearer {token}", f"BEARER   {token}  "]
    for auth in spellings:
        assert client.post("/api/v1/specs/validate", json=VALIDATE, headers={"Authorization": auth}).status_code == 200
    res = client.post("/api/v1/specs/validate", json=VALIDATE, headers={"Authorization": spellings[0]})
    assert res.status_code == 429 and int(res.headers["retry-after"]) >= 1


def test_made_up_headers_spend_the_address_budget(client: TestClient) -> None:
    limited(client, 3)
    answers = [
        client.post("/api/v1/specs/validate", json=VALIDATE, headers={"Authorization": auth}).status_code
        for auth in ("Bearer aa_made_up_1", "Basic Zm9vOmJhcg==", f"Bearer {secrets.token_hex(8)}", "Token x")
    ]
    assert answers == [200, 200, 200, 429]
    assert client.post("/api/v1/specs/validate", json=VALIDATE).status_code == 429  # the same address


def test_one_budget_per_user_however_many_tokens(client: TestClient, sqlite_settings: Settings) -> None:
    limited(client, 4)
    tokens = [token_of(sqlite_settings, "hoarder") for _ in range(5)]
    answers = [
        client.post("/api/v1/specs/validate", json=VALIDATE, headers={"Authorization": f"Bearer {t}"}).status_code
        for t in tokens
    ]
    assert answers == [200, 200, 200, 200, 429]
    other = {"Authorization": f"Bearer {token_of(sqlite_settings, 'neighbour')}"}
    assert client.post("/api/v1/specs/validate", json=VALIDATE, headers=other).status_code == 200


def test_a_logged_in_browser_and_the_users_token_share_a_budget(client: TestClient, sqlite_settings: Settings) -> None:
    sign_up(client, "browser")
    now = limited(client, 2)
    token = {"Authorization": f"Bearer {token_of(sqlite_settings, 'browser')}"}
    assert client.post("/api/v1/specs/validate", json=VALIDATE, headers=token).status_code == 200
    assert client.post("/api/v1/specs/validate", json=VALIDATE).status_code == 200  # the session's user
    assert client.post("/api/v1/specs/validate", json=VALIDATE, headers=token).status_code == 429
    now[0] += 60
    assert client.post("/api/v1/specs/validate", json=VALIDATE).status_code == 200


def test_every_write_is_limited_deletes_and_studies_too(client: TestClient, sqlite_settings: Settings) -> None:
    limited(client, 2)
    auth = {"Authorization": f"Bearer {token_of(sqlite_settings, 'deleter')}"}
    answers = [client.delete("/api/v1/submissions/999", headers=auth).status_code for _ in range(3)]
    assert answers == [404, 404, 429]
    limited(client, 1)
    study = {"name": "s", "benchmark": "digits", "base_spec": TINY, "axis": "mixer", "values": ["pooling"]}
    answers = [client.post("/api/v1/studies", json=study, headers=auth).status_code for _ in range(2)]
    assert answers[-1] == 429, answers
    assert client.get("/api/v1/submissions").status_code == 200  # reads are never limited


def _client_at(settings: Settings, address: str) -> TestClient:
    return TestClient(create_app(settings), client=(address, 50000))


def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    settings = demo_settings(tmp_path, rate_limit_per_minute=2)
    settings.ensure_dirs()
    upgrade(settings.database_url)
    with _client_at(settings, "203.0.113.7") as client:  # no proxy configured: the header is the client's word
        answers = [
            client.post("/api/v1/specs/validate", json=VALIDATE, headers={"X-Forwarded-For": f"10.0.0.{i}"})
            for i in range(3)
        ]
        assert [a.status_code for a in answers] == [200, 200, 429]
    proxied = settings.model_copy(update={"trusted_proxies": ["127.0.0.1", "10.1.0.0/16"]})
    with _client_at(proxied, "127.0.0.1") as client:  # behind our proxy: each real client has its own budget
        for i in range(3):
            hops = {"X-Forwarded-For": f"198.51.100.{i}, 10.1.2.3"}  # the client, then a second proxy of ours
            assert client.post("/api/v1/specs/validate", json=VALIDATE, headers=hops).status_code == 200
        spoof = {"X-Forwarded-For": "1.1.1.1, 198.51.100.0"}  # what the client wrote before our proxy's entry
        assert client.post("/api/v1/specs/validate", json=VALIDATE, headers=spoof).status_code == 200
        assert client.post("/api/v1/specs/validate", json=VALIDATE, headers=spoof).status_code == 429


def test_sign_ups_are_throttled_per_address(tmp_path: Path) -> None:
    settings = demo_settings(tmp_path, signups_per_hour=2)
    settings.ensure_dirs()
    upgrade(settings.database_url)
    with _client_at(settings, "192.0.2.1") as client:
        sign_up(client, "first")
        client.cookies.clear()
        sign_up(client, "second")
        client.cookies.clear()
        data = {"name": "third", "password": "correct horse", "csrf_token": csrf(client, "/signup")}
        res = client.post("/signup", data=data, follow_redirects=False)
        assert res.status_code == 429 and "new accounts an hour" in res.text
        assert 1_000 <= int(res.headers["retry-after"]) <= 1_800  # half an hour until the next one
    with _client_at(settings, "192.0.2.2") as client:  # another address is not held back
        sign_up(client, "third")


def _login(client: TestClient, name: str, password: str) -> int:
    data = {"name": name, "password": password, "csrf_token": csrf(client, "/login")}
    return client.post("/login", data=data, follow_redirects=False).status_code


def test_failed_log_ins_back_off_per_name(client: TestClient) -> None:
    sign_up(client, "target")
    client.post("/logout", data={"csrf_token": client.cookies.get("aa_csrf")})
    now = [0.0]
    guards = client.app.state.guards  # type: ignore[attr-defined]
    guards.login_failures = Backoff(clock=lambda: now[0])
    assert [_login(client, "target", "wrong guess") for _ in range(5)] == [401] * 5  # free
    assert _login(client, "target", "wrong guess") == 401  # the sixth: now it waits 2 s
    assert _login(client, "TARGET", "correct horse") == 429  # even the right password, under any spelling
    now[0] += 2.1
    assert _login(client, "target", "wrong again") == 401  # and the next failure doubles the wait
    now[0] += 2.1
    assert _login(client, "target", "correct horse") == 429
    now[0] += 2.0
    assert _login(client, "target", "correct horse") == 303
    assert guards.login_failures.wait("x") == 0


def test_log_in_attempts_are_throttled_per_address(tmp_path: Path) -> None:
    settings = demo_settings(tmp_path, auth_attempts_per_minute=3)
    settings.ensure_dirs()
    upgrade(settings.database_url)
    with _client_at(settings, "192.0.2.9") as client:
        answers = [_login(client, f"nobody{i}", "whatever1") for i in range(4)]
        assert answers == [401, 401, 401, 429]


def test_password_hashing_is_bounded(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    slots = threading.BoundedSemaphore(1)
    monkeypatch.setattr(users, "_password_slots", slots)
    monkeypatch.setattr(users, "PASSWORD_WAIT_S", 0.05)
    assert slots.acquire(blocking=False)  # a guessing loop holds every argon2 slot
    try:
        data = {"name": "someone", "password": "correct horse", "csrf_token": csrf(client, "/login")}
        res = client.post("/login", data=data)
        assert res.status_code == 503 and int(res.headers["retry-after"]) >= 1
        assert client.get("/api/v1/benchmarks").status_code == 200  # the pages do not wait for it
    finally:
        slots.release()
    assert _login(client, "someone", "correct horse") == 401
