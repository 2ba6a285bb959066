"""Sign-up, log-in, log-out, CSRF and API tokens through the web pages, in-process (TestClient)."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.config import Settings
from app.core.db.migrate import upgrade
from app.core.db.session import session_scope
from app.core.db.tables import User
from app.main import create_app
from app.web.sessions import CSRF_COOKIE, SESSION_COOKIE
from tests.conftest import demo_settings
from tests.submissions.test_api import TINY, token_for


def csrf(client: TestClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def sign_up(client: TestClient, name: str, password: str = "correct horse") -> None:
    res = client.post(
        "/signup",
        data={"name": name, "password": password, "csrf_token": csrf(client, "/signup")},
        follow_redirects=False,
    )
    assert res.status_code == 303, res.text


def test_sign_up_log_out_log_in(client: TestClient, sqlite_settings: Settings) -> None:
    sign_up(client, "carol")
    assert client.get("/").text.count('href="/users/carol"') == 1  # the nav knows who is logged in
    cookie = client.cookies.get(SESSION_COOKIE)
    assert cookie and "carol" not in cookie  # a random secret, not a signed identity
    with session_scope(sqlite_settings.database_url) as session:
        stored = session.scalar(select(User.password_hash).where(User.name == "carol"))
    assert stored and stored.startswith("$argon2id$") and "correct horse" not in stored

    res = client.post("/logout", data={"csrf_token": client.cookies.get(CSRF_COOKIE)}, follow_redirects=False)
    assert res.status_code == 303
    assert client.cookies.get(SESSION_COOKIE) is None
    assert 'href="/login"' in client.get("/").text

    bad = {"name": "carol", "password": "wrong password", "csrf_token": csrf(client, "/login")}
    assert client.post("/login", data=bad).status_code == 401
    good = {**bad, "password": "correct horse"}
    res = client.post("/login", data=good, follow_redirects=False)
    assert res.status_code == 303 and client.cookies.get(SESSION_COOKIE)
    set_cookie = res.headers.get_list("set-cookie")
    session_cookie = next(c for c in set_cookie if c.startswith(SESSION_COOKIE))
    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie
    assert "Secure" not in session_cookie  # the demo runs on plain http://localhost


def test_sign_up_refuses_taken_reserved_and_short(client: TestClient) -> None:
    sign_up(client, "dave")
    for name, password in (("dave", "long enough"), ("demo", "long enough"), ("erin", "short"), ("a b", "x" * 9)):
        data = {"name": name, "password": password, "csrf_token": csrf(client, "/signup")}
        res = client.post("/signup", data=data)
        assert res.status_code == 422 and 'id="form-errors"' in res.text, (name, res.status_code)


def test_forged_session_cookie_is_ignored(client: TestClient, sqlite_settings: Settings) -> None:
    sign_up(client, "frank")
    for forged in ("eyJ1aWQiOiAxLCAibmFtZSI6ICJmcmFuayIsICJpYXQiOiAxfQ.00", "x" * 43, ""):
        client.cookies.set(SESSION_COOKIE, forged)
        assert client.get("/tokens", follow_redirects=False).status_code == 303  # to /login


def test_post_forms_without_csrf_are_refused(client: TestClient) -> None:
    sign_up(client, "grace")
    body = {"name": "x", "spec": '{"preset": "tiny_resnet_digits"}'}
    for path, data in (
        ("/submit", body),
        ("/login", {"name": "grace", "password": "correct horse"}),
        ("/signup", {"name": "heidi", "password": "correct horse"}),
        ("/logout", {}),
        ("/tokens", {"name": "t"}),
        ("/tokens/1/revoke", {}),
    ):
        for token in ("", "forged-token"):
            res = client.post(path, data={**data, "csrf_token": token} if token else data)
            assert res.status_code == 403, (path, token, res.status_code)
            assert "security token" in res.text
    assert client.get("/api/v1/submissions").json() == []


def test_web_submit_files_under_the_logged_in_user_else_demo(client: TestClient) -> None:
    form = {"name": "anon", "spec": '{"preset": "tiny_resnet_digits", "overrides": {}}', "seeds": "1"}
    assert "60 min of 60 min run-seconds left" in client.get("/submit").text
    res = client.post("/submit", data={**form, "csrf_token": csrf(client, "/submit")}, follow_redirects=False)
    assert res.status_code == 303, res.text
    sign_up(client, "ivan")
    other = {**form, "name": "mine", "spec": '{"preset": "tiny_mixer_digits", "overrides": {}}'}
    res = client.post("/submit", data={**other, "csrf_token": csrf(client, "/submit")}, follow_redirects=False)
    assert res.status_code == 303, res.text
    users = {s["name"]: s["user"] for s in client.get("/api/v1/submissions").json()}
    assert users == {"anon": "demo", "mine": "ivan"}
    assert "of 60 min run-seconds left" in client.get("/submit").text  # ivan's own quota, in run-seconds
    profile = client.get("/users/ivan")
    assert profile.status_code == 200 and ">mine</a>" in profile.text and "anon" not in profile.text
    assert client.get("/users/nobody").status_code == 404


def test_tokens_page_creates_once_and_revokes(client: TestClient) -> None:
    assert client.get("/tokens", follow_redirects=False).headers["location"] == "/login?next=/tokens"
    sign_up(client, "judy")
    res = client.post("/tokens", data={"name": "laptop", "csrf_token": csrf(client, "/tokens")})
    assert res.status_code == 200 and str(res.url).endswith("/tokens")  # post-redirect-get
    token = re.search(r'id="token-value">([^<]+)<', res.text)
    assert token
    headers = {"Authorization": f"Bearer {token.group(1)}"}
    created = client.post("/api/v1/submissions", json={"name": "api", "spec": TINY, "seeds": 1}, headers=headers)
    assert created.status_code == 201 and created.json()["user"] == "judy"
    listing = client.get("/tokens").text
    assert token.group(1) not in listing and "laptop" in listing  # shown once only
    token_id = re.search(r'action="/tokens/(\d+)/revoke"', listing)
    assert token_id
    res = client.post(
        f"/tokens/{token_id.group(1)}/revoke", data={"csrf_token": csrf(client, "/tokens")}, follow_redirects=False
    )
    assert res.status_code == 303 and "revoked" in client.get("/tokens").text
    again = client.post("/api/v1/submissions", json={"name": "api2", "spec": TINY}, headers=headers)
    assert again.status_code == 401


def test_cannot_revoke_someone_elses_token(client: TestClient, sqlite_settings: Settings) -> None:
    victim = token_for(sqlite_settings, "victim")
    sign_up(client, "mallory")
    res = client.post("/tokens/1/revoke", data={"csrf_token": csrf(client, "/tokens")}, follow_redirects=False)
    assert res.status_code == 303
    assert client.post("/api/v1/submissions", json={"name": "v", "spec": TINY}, headers=victim).status_code == 201


def test_user_cannot_delete_another_users_submission(client: TestClient, sqlite_settings: Settings) -> None:
    alice, bob = token_for(sqlite_settings, "alice"), token_for(sqlite_settings, "bob")
    created = client.post("/api/v1/submissions", json={"name": "a", "spec": TINY}, headers=alice).json()
    res = client.delete(f"/api/v1/submissions/{created['id']}", headers=bob)
    assert res.status_code == 403 and "owner" in res.json()["detail"]
    assert client.get(f"/api/v1/submissions/{created['id']}").status_code == 200


def test_production_cookies_are_secure_and_anonymous_submit_is_refused(tmp_path: Path) -> None:
    settings = demo_settings(tmp_path, mode="production", secret_key="s" * 32)
    settings.ensure_dirs()
    upgrade(settings.database_url)
    with TestClient(create_app(settings), base_url="https://testserver") as client:  # Secure cookies
        form = {"name": "x", "spec": '{"preset": "tiny_resnet_digits"}', "csrf_token": csrf(client, "/submit")}
        res = client.post("/submit", data=form)
        assert res.status_code == 401 and "log in" in res.text
        data = {"name": "kate", "password": "correct horse", "csrf_token": csrf(client, "/signup")}
        res = client.post("/signup", data=data, follow_redirects=False)
        assert res.status_code == 303
        session_cookie = next(c for c in res.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
        assert "Secure" in session_cookie and "HttpOnly" in session_cookie
