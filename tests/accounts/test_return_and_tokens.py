"""Logging in returns to the page you came from (a local path only: no open redirect); the tokens page makes a
token on POST and shows it once after a redirect, so a reload never makes another; every "you need a token"
message points a web user to /tokens."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.accounts.pages import safe_next
from app.core.config import Settings
from app.core.db.session import session_scope
from app.core.db.tables import ApiToken
from tests.accounts.test_accounts import csrf, sign_up


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/studies/3?tab=x", "/studies/3?tab=x"),
        ("//evil.example/x", "/submit"),
        ("/\\evil.example", "/submit"),
        ("https://evil.example", "/submit"),
        ("evil.example", "/submit"),
        ("/ok\r\nSet-Cookie: x=1", "/submit"),
        ("", "/submit"),
    ],
)
def test_next_is_a_local_path_only(target: str, expected: str) -> None:
    assert safe_next(target) == expected


def _log_in(client: TestClient, next_: str) -> str:
    page = client.get("/login", params={"next": next_})
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    form = {"name": "dora", "password": "correct horse", "csrf_token": token.group(1), "next": next_}
    res = client.post("/login", data=form, follow_redirects=False)
    assert res.status_code == 303
    return str(res.headers["location"])


def test_log_in_returns_to_the_page_you_came_from(client: TestClient) -> None:
    sign_up(client, "dora")
    client.cookies.clear()
    page = client.get("/studies").text
    assert 'href="/login?next=/studies"' in page  # the nav's link carries where you are
    assert 'name="next" value="/studies"' in client.get("/login?next=/studies").text
    assert _log_in(client, "/studies") == "/studies"
    client.cookies.clear()
    assert _log_in(client, "//evil.example") == "/submit"
    client.cookies.clear()
    assert client.get("/tokens", follow_redirects=False).headers["location"] == "/login?next=/tokens"


def _tokens(settings: Settings) -> int:
    with session_scope(settings.database_url) as session:
        return int(session.scalar(select(func.count()).select_from(ApiToken)) or 0)


def test_the_tokens_page_posts_redirects_and_shows_the_token_once(
    client: TestClient, sqlite_settings: Settings
) -> None:
    sign_up(client, "erin")
    before = _tokens(sqlite_settings)
    res = client.post("/tokens", data={"name": "laptop", "csrf_token": csrf(client, "/tokens")}, follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == "/tokens"
    shown = client.get("/tokens").text
    value = re.search(r'<code id="token-value">([^<]+)</code>', shown)
    assert value and f"export ARCHARENA_TOKEN={value.group(1)}" in shown and "/api/v1/submissions" in shown
    assert 'data-copy="token-value"' in shown and 'data-copy="token-curl"' in shown
    again = client.get("/tokens").text  # a reload: no new token, and the secret is not shown again
    assert 'id="token-value"' not in again and _tokens(sqlite_settings) == before + 1
    api = client.post("/api/v1/submissions", json={"name": "x", "spec": {"preset": "tiny_resnet_digits"}})
    assert api.status_code == 401 and "/tokens" in api.json()["detail"]
