"""Server-side sessions (logging out, changing the password and a ban end them), a random secret per demo home,
the demo on loopback only, banning a user (not only a token), and user names that cannot pass for each other."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.config import DEMO_SECRET, Settings
from app.core.db.session import session_scope
from app.core.db.tables import AuditEvent, WebSession
from app.main import create_app
from app.users.names import name_key
from app.users.service import (
    MAX_LIVE_SESSIONS,
    InvalidName,
    create_token,
    get_or_create_user,
    session_user,
    set_admin,
    start_session,
)
from app.web.sessions import CSRF_COOKIE, SESSION_COOKIE
from tests.accounts.test_accounts import csrf, sign_up
from tests.submissions.test_api import TINY


def logged_in(client: TestClient) -> bool:
    return client.get("/tokens", follow_redirects=False).status_code == 200


def test_logging_out_ends_the_session_on_the_server(client: TestClient) -> None:
    sign_up(client, "leaver")
    cookie = client.cookies.get(SESSION_COOKIE)
    assert cookie and logged_in(client)
    client.post("/logout", data={"csrf_token": client.cookies.get(CSRF_COOKIE)})
    client.cookies.set(SESSION_COOKIE, cookie)  # a copy of the cookie, kept by whoever had it
    assert not logged_in(client)


def test_a_password_change_ends_every_other_session(client: TestClient, sqlite_settings: Settings) -> None:
    sign_up(client, "changer")
    with TestClient(create_app(sqlite_settings)) as laptop:
        data = {"name": "changer", "password": "correct horse", "csrf_token": csrf(laptop, "/login")}
        assert laptop.post("/login", data=data, follow_redirects=False).status_code == 303
        assert logged_in(laptop)
        form = {"current": "wrong one", "new": "battery staple", "csrf_token": csrf(client, "/tokens")}
        res = client.post("/password", data=form)
        assert res.status_code == 422 and "current password is wrong" in res.text
        form["current"] = "correct horse"
        res = client.post("/password", data=form, follow_redirects=False)
        assert res.status_code == 303 and res.headers["location"] == "/tokens?password=changed"
        assert logged_in(client)  # this browser got a fresh session
        assert not logged_in(laptop)  # the other one is gone
        data = {"name": "changer", "password": "battery staple", "csrf_token": csrf(laptop, "/login")}
        assert laptop.post("/login", data=data, follow_redirects=False).status_code == 303
        res = client.post("/logout", data={"everywhere": "1", "csrf_token": client.cookies.get(CSRF_COOKIE)})
        assert not logged_in(laptop)
    with session_scope(sqlite_settings.database_url) as session:
        assert all(row.ended_at is not None for row in session.scalars(select(WebSession)))


def test_each_demo_home_has_its_own_private_secret(tmp_path: Path) -> None:
    one = Settings(home=tmp_path / "one")
    two = Settings(home=tmp_path / "two")
    assert one.secret_key != two.secret_key and DEMO_SECRET not in (one.secret_key, two.secret_key)
    assert len(one.secret_key) >= 32
    assert Settings(home=tmp_path / "one").secret_key == one.secret_key  # made once, then kept
    mode = stat.S_IMODE(os.stat(tmp_path / "one" / "secret_key").st_mode)
    assert mode == 0o600
    assert Settings(home=tmp_path / "one", secret_key="mine-" * 8).secret_key == "mine-" * 8  # a set one wins


@pytest.mark.parametrize("command", ["web", "demo"])
def test_the_demo_listens_on_loopback_only(tmp_path: Path, command: str) -> None:
    env = {**os.environ, "ARCHARENA_HOME": str(tmp_path)}
    env.pop("ARCHARENA_MODE", None)
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", command, "--host", "0.0.0.0", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0 and "loopback" in done.stderr, done.stderr[-500:]


def _admin_headers(settings: Settings, name: str) -> dict[str, str]:
    with session_scope(settings.database_url) as session:
        set_admin(session, name)
        return {"Authorization": f"Bearer {create_token(session, name)}"}


def test_banning_a_user_stops_every_token_and_session(client: TestClient, sqlite_settings: Settings) -> None:
    sign_up(client, "spammer")
    with session_scope(sqlite_settings.database_url) as session:
        tokens = [{"Authorization": f"Bearer {create_token(session, 'spammer')}"} for _ in range(2)]
    admin = _admin_headers(sqlite_settings, "moderator")
    assert client.post("/api/v1/users/spammer/ban", json={"reason": "r"}, headers=tokens[0]).status_code == 403
    res = client.post("/api/v1/users/spammer/ban", json={"reason": "mass sign-ups"}, headers=admin)
    assert res.status_code == 200 and res.json()["banned_reason"] == "mass sign-ups", res.text
    for token in tokens:
        refused = client.post("/api/v1/submissions", json={"name": "x", "spec": TINY}, headers=token)
        assert refused.status_code == 401 and "mass sign-ups" in refused.json()["detail"]
    assert not logged_in(client)  # the browser session ended too
    data = {"name": "spammer", "password": "correct horse", "csrf_token": csrf(client, "/login")}
    res = client.post("/login", data=data)
    assert res.status_code == 403 and "banned" in res.text and "mass sign-ups" in res.text
    assert "Banned by an admin" in client.get("/users/spammer").text
    log = client.get("/api/v1/audit", headers=admin).json()
    assert log[0]["action"] == "ban_user" and "banned user spammer (2 tokens revoked)" in log[0]["summary"]
    assert client.post("/api/v1/users/nobody/ban", json={"reason": "r"}, headers=admin).status_code == 404

    assert client.post("/api/v1/users/spammer/unban", json={"reason": "appeal"}, headers=admin).status_code == 200
    data["csrf_token"] = csrf(client, "/login")
    assert client.post("/login", data=data, follow_redirects=False).status_code == 303
    again = client.post("/api/v1/submissions", json={"name": "x", "spec": TINY}, headers=tokens[0])
    assert again.status_code == 401  # revoked tokens stay revoked


def test_an_admin_bans_from_the_profile_page(client: TestClient, sqlite_settings: Settings) -> None:
    sign_up(client, "troll")
    client.post("/logout", data={"csrf_token": client.cookies.get(CSRF_COOKIE)})
    sign_up(client, "warden")
    assert 'id="ban-form"' not in client.get("/users/troll").text  # not an admin (yet)
    with session_scope(sqlite_settings.database_url) as session:
        set_admin(session, "warden")
    page = client.get("/users/troll").text
    assert 'id="ban-form"' in page
    res = client.post("/users/troll/ban", data={"reason": "abuse", "csrf_token": csrf(client, "/users/troll")})
    assert res.status_code == 200 and "Banned by an admin" in res.text and "abuse" in res.text
    with session_scope(sqlite_settings.database_url) as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "ban_user"))
        assert event is not None and event.target_kind == "user" and event.reason == "abuse"


@pytest.mark.parametrize(
    ("taken", "lookalike"),
    [
        ("p_webadmin", "P_WEBADMIN"),
        ("p_webadmin", "p.webadmin"),
        ("p_webadmin", "p_webadm1n"),
        ("alice", "aIice"),
        ("modern", "rnodern"),
        ("admin", "Adm1n"),
    ],
)
def test_lookalike_names_are_refused(client: TestClient, taken: str, lookalike: str) -> None:
    if taken != "admin":
        sign_up(client, taken)
        client.post("/logout", data={"csrf_token": client.cookies.get(CSRF_COOKIE)})
    data = {"name": lookalike, "password": "correct horse", "csrf_token": csrf(client, "/signup")}
    res = client.post("/signup", data=data)
    assert res.status_code == 422 and "taken" in res.text, res.text[:300]


def test_name_skeletons_fold_case_width_accents_and_other_scripts() -> None:
    assert name_key("p_webadmin") == name_key("P_WEBADMIN") == name_key("ｐ＿ｗｅｂａｄｍｉｎ")  # full width
    assert name_key("p_webadmin") == name_key("р_wеbаdmіn")  # Cyrillic р, е, а, і
    assert name_key("alice") == name_key("alicé") == name_key("αlice")
    assert name_key("alice") != name_key("alicia")


def test_the_cli_refuses_a_lookalike_and_log_in_ignores_case(client: TestClient, sqlite_settings: Settings) -> None:
    sign_up(client, "carol")
    with session_scope(sqlite_settings.database_url) as session, pytest.raises(InvalidName, match="too like"):
        get_or_create_user(session, "CAROL")
    client.post("/logout", data={"csrf_token": client.cookies.get(CSRF_COOKIE)})
    data = {"name": "Carol", "password": "correct horse", "csrf_token": csrf(client, "/login")}
    assert client.post("/login", data=data, follow_redirects=False).status_code == 303
    assert 'href="/users/carol"' in client.get("/").text


def test_a_log_in_loop_keeps_the_session_table_bounded(db_settings: Settings) -> None:
    settings = db_settings
    with session_scope(settings.database_url) as session:
        user = get_or_create_user(session, "looper")
        first = start_session(session, user, settings.secret_key)
        for _ in range(MAX_LIVE_SESSIONS + 15):
            last = start_session(session, user, settings.secret_key)
        rows = session.scalars(select(WebSession).where(WebSession.user_id == user.id)).all()
        live = [r for r in rows if r.ended_at is None]
        assert len(live) == MAX_LIVE_SESSIONS and len(rows) <= MAX_LIVE_SESSIONS + 1
        assert session_user(session, last, settings.secret_key) is not None
        assert session_user(session, first, settings.secret_key) is None  # the least recently seen one ended
