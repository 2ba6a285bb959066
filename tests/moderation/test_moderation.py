"""Owner and admin actions through the API and the submission page's forms, in-process on a migrated SQLite
database and a real SQLite broker (no worker): who may do what, what changes, and the audit trail."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from app.core.config import Settings
from app.core.db.session import session_scope
from app.core.db.tables import ApiToken, AuditEvent, EpochMetric, Run, RunStatus, Submission, User
from app.quotas import service as quotas
from app.users.service import create_token, set_admin
from tests.accounts.test_accounts import csrf, sign_up
from tests.conftest import demo_settings
from tests.submissions.test_api import TINY, token_for

REASON = {"reason": "trained on the test set"}


def admin_token(settings: Settings, name: str = "root") -> dict[str, str]:
    with session_scope(settings.database_url) as session:
        set_admin(session, name)
        return {"Authorization": f"Bearer {create_token(session, name)}"}


def submit(client: TestClient, headers: dict[str, str], name: str = "a", spec: dict[str, Any] = TINY) -> int:
    res = client.post("/api/v1/submissions", json={"name": name, "spec": spec, "seeds": 2}, headers=headers)
    assert res.status_code == 201, res.text
    return int(res.json()["id"])


def fail_runs(settings: Settings, submission_id: int, kind: str = "oom") -> None:
    """Runs that trained one epoch and then failed."""
    with session_scope(settings.database_url) as session:
        run_ids = list(session.scalars(select(Run.id).where(Run.submission_id == submission_id)))
        for run_id in run_ids:
            session.add(
                EpochMetric(
                    run_id=run_id, epoch=1, train_loss=1, train_acc=0.5, val_loss=1, val_acc=0.5, lr=0.1, elapsed_s=1
                )
            )
        session.execute(
            update(Run)
            .where(Run.submission_id == submission_id)
            .values(status=RunStatus.FAILED, attempts=3, error_kind=kind, error_message="boom", epochs_done=1)
        )
        session.execute(update(Submission).where(Submission.id == submission_id).values(status=RunStatus.FAILED))


def audit(settings: Settings) -> list[tuple[str | None, str, str, int, str]]:
    with session_scope(settings.database_url) as session:
        rows = session.execute(
            select(
                AuditEvent.actor_id, AuditEvent.action, AuditEvent.target_kind, AuditEvent.target_id, AuditEvent.reason
            ).order_by(AuditEvent.id)
        ).all()
        names = dict(session.execute(select(User.id, User.name)).all())
    return [(names.get(a), action, kind, tid, reason) for a, action, kind, tid, reason in rows]


def snapshot(settings: Settings, submission_id: int) -> tuple[Any, ...]:
    with session_scope(settings.database_url) as session:
        sub = session.get(Submission, submission_id)
        assert sub is not None
        runs = session.execute(
            select(Run.seed, Run.status, Run.attempts, Run.error_kind).where(Run.submission_id == submission_id)
        ).all()
        epochs = session.scalar(select(func.count(EpochMetric.id)))
        return sub.hidden_reason, sub.flag_reason, sub.seeds_requested, sorted(runs), epochs


def test_another_user_can_do_nothing_to_a_submission_through_the_api(
    client: TestClient, sqlite_settings: Settings
) -> None:
    alice, bob = token_for(sqlite_settings, "alice"), token_for(sqlite_settings, "bob")
    sid = submit(client, alice)
    fail_runs(sqlite_settings, sid)
    before = snapshot(sqlite_settings, sid)
    for path, body in (
        ("hide", REASON),
        ("unhide", REASON),
        ("flag", REASON),
        ("unflag", REASON),
        ("rerun", {}),
        ("rerun", {"all": True}),
        ("seeds", {"seeds": 1}),
    ):
        res = client.post(f"/api/v1/submissions/{sid}/{path}", json=body, headers=bob)
        assert res.status_code == 403, (path, res.text)
        assert "bob" in res.json()["detail"] and ("owner" in res.json()["detail"] or "admin" in res.json()["detail"])
    res = client.delete(f"/api/v1/submissions/{sid}", headers=bob)
    assert res.status_code == 403
    # The owner may not hide or flag their own entry either (admin only).
    assert client.post(f"/api/v1/submissions/{sid}/hide", json=REASON, headers=alice).status_code == 403
    assert snapshot(sqlite_settings, sid) == before
    assert audit(sqlite_settings) == []
    # Unknown ids are 404, before any permission question; bodies are strict.
    assert client.post("/api/v1/submissions/999/rerun", json={}, headers=bob).status_code == 404
    assert client.post(f"/api/v1/submissions/{sid}/hide", json={"reason": ""}, headers=bob).status_code == 422
    extra = {"reason": "x", "colour": "red"}
    assert client.post(f"/api/v1/submissions/{sid}/flag", json=extra, headers=bob).status_code == 422
    assert client.post(f"/api/v1/submissions/{sid}/hide", json={"reason": "x" * 501}, headers=bob).status_code == 422


def test_admin_hides_and_flags_with_public_reasons(client: TestClient, sqlite_settings: Settings) -> None:
    alice, root = token_for(sqlite_settings, "alice"), admin_token(sqlite_settings)
    hidden = submit(client, alice, "hide me")
    flagged = submit(client, alice, "flag me", {"preset": "tiny_mixer_digits", "overrides": {}})
    board = "/api/v1/benchmarks/digits/leaderboard"
    assert {e["id"] for e in client.get(board).json()["entries"]} == {hidden, flagged}

    res = client.post(f"/api/v1/submissions/{hidden}/hide", json={"reason": "spam <b>entry</b>"}, headers=root)
    assert res.status_code == 200 and res.json()["hidden_reason"] == "spam <b>entry</b>"
    res = client.post(f"/api/v1/submissions/{flagged}/flag", json=REASON, headers=root)
    assert res.status_code == 200 and res.json()["flag_reason"] == REASON["reason"]

    entries = client.get(board).json()["entries"]
    assert [e["id"] for e in entries] == [flagged] and entries[0]["flag_reason"] == REASON["reason"]
    page = client.get("/benchmarks/digits").text
    assert "hide me" not in page and "Flagged by an admin:</b> trained on the test set" in page
    assert client.get("/api/v1/benchmarks/digits/frontier").status_code == 200
    own = client.get(f"/submissions/{hidden}")
    assert own.status_code == 200 and "Hidden by an admin: spam &lt;b&gt;entry&lt;/b&gt;" in own.text
    assert "Flagged by an admin: trained on the test set" in client.get(f"/submissions/{flagged}").text
    assert "hide me" not in client.get(f"/submissions/{flagged}").text  # not offered for comparison

    assert client.post(f"/api/v1/submissions/{hidden}/unhide", json={"reason": "ok"}, headers=root).status_code == 200
    assert client.post(f"/api/v1/submissions/{flagged}/unflag", json={"reason": "ok"}, headers=root).status_code == 200
    entries = client.get(board).json()["entries"]
    assert {e["id"] for e in entries} == {hidden, flagged} and all(e["flag_reason"] is None for e in entries)
    assert [(a, action, r) for a, action, _, _, r in audit(sqlite_settings)] == [
        ("root", "hide", "spam <b>entry</b>"),
        ("root", "flag", REASON["reason"]),
        ("root", "unhide", "ok"),
        ("root", "unflag", "ok"),
    ]
    history = client.get(f"/submissions/{hidden}").text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d</time> root hid it: spam &lt;b&gt;entry&lt;/b&gt;", history)


def test_rerun_requeues_failed_runs_from_scratch(
    client: TestClient, sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(quotas.DAILY_SECONDS, "digits", 3600)
    alice, root = token_for(sqlite_settings, "alice"), admin_token(sqlite_settings)
    sid = submit(client, alice)
    with session_scope(sqlite_settings.database_url) as session:  # each run's projected run-seconds
        per_run = float(session.scalar(select(Run.projected_seconds).where(Run.submission_id == sid)) or 0.0)
    nothing = client.post(f"/api/v1/submissions/{sid}/rerun", json={}, headers=alice)
    assert nothing.status_code == 409 and "no failed runs" in nothing.json()["detail"]

    fail_runs(sqlite_settings, sid, kind="oom")  # the submitter's own failure: the re-run is charged
    res = client.post(f"/api/v1/submissions/{sid}/rerun", json={"reason": "fixed?"}, headers=alice)
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["status"] == "queued" and res.headers["x-quota-remaining"] == str(int(3600 - 4 * per_run))
    assert all(
        (r["status"], r["attempts"], r["error_kind"], r["error_message"], r["epochs_done"], r["epochs"])
        == ("queued", 0, None, None, 0, [])
        for r in body["runs"]
    )
    with session_scope(sqlite_settings.database_url) as session:
        assert session.scalar(select(func.count(EpochMetric.id))) == 0

    fail_runs(sqlite_settings, sid, kind="crashed")  # the platform's fault: free
    res = client.post(f"/api/v1/submissions/{sid}/rerun", json={}, headers=alice)
    assert res.status_code == 200 and "x-quota-remaining" not in res.headers
    fail_runs(sqlite_settings, sid, kind="oom")
    res = client.post(f"/api/v1/submissions/{sid}/rerun", json={"all": True, "reason": "flaky"}, headers=root)
    assert res.status_code == 200 and "x-quota-remaining" not in res.headers  # an admin's re-run is free
    quota = client.post(f"/api/v1/submissions/{sid}/seeds", json={"seeds": 1}, headers=alice)
    assert quota.headers["x-quota-remaining"] == str(int(3600 - 5 * per_run))  # 2 runs + 2 re-run + 1 added

    events = audit(sqlite_settings)
    assert [(a, action, r) for a, action, _, _, r in events] == [
        ("alice", "rerun", "fixed?"),
        ("alice", "rerun", ""),
        ("root", "rerun", "flaky"),
        ("alice", "add_seeds", ""),
    ]
    page = client.get(f"/submissions/{sid}").text
    assert "alice re-ran 2 failed runs (paid in run-seconds): fixed?" in page
    assert "root re-ran all 2 runs: flaky" in page


def test_add_seeds_uses_the_next_seeds_up_to_the_cap(client: TestClient, sqlite_settings: Settings) -> None:
    alice = token_for(sqlite_settings, "alice")
    sid = submit(client, alice)
    res = client.post(f"/api/v1/submissions/{sid}/seeds", json={"seeds": 2, "reason": "tighter CI"}, headers=alice)
    assert res.status_code == 200, res.text
    assert [(r["seed"], r["status"]) for r in res.json()["runs"]] == [(s, "queued") for s in range(4)]
    assert res.json()["seeds_requested"] == 4
    cap = client.get("/api/v1/benchmarks/digits").json()["max_seeds"]
    over = client.post(f"/api/v1/submissions/{sid}/seeds", json={"seeds": cap}, headers=alice)
    assert over.status_code == 422
    error = over.json()["detail"][0]
    assert error["loc"] == ["body", "seeds"] and f"maximum of {cap} seeds" in error["msg"]
    assert client.post(f"/api/v1/submissions/{sid}/seeds", json={"seeds": "2"}, headers=alice).status_code == 422
    assert len(client.get(f"/api/v1/submissions/{sid}").json()["runs"]) == 4


def test_delete_is_audited_and_admins_may_delete_anyones(client: TestClient, sqlite_settings: Settings) -> None:
    alice, root = token_for(sqlite_settings, "alice"), admin_token(sqlite_settings)
    mine = submit(client, alice, "mine")
    theirs = submit(client, alice, "theirs", {"preset": "tiny_mixer_digits", "overrides": {}})
    assert client.delete(f"/api/v1/submissions/{mine}", headers=alice).status_code == 204
    res = client.delete(f"/api/v1/submissions/{theirs}", params={"reason": "duplicate account"}, headers=root)
    assert res.status_code == 204
    assert client.get("/api/v1/submissions").json() == []
    assert [(a, action, tid, r) for a, action, _, tid, r in audit(sqlite_settings)] == [
        ("alice", "delete", mine, ""),
        ("root", "delete", theirs, "duplicate account"),
    ]


def test_audit_log_is_admin_only_and_paginated(client: TestClient, sqlite_settings: Settings) -> None:
    alice, root = token_for(sqlite_settings, "alice"), admin_token(sqlite_settings)
    sid = submit(client, alice)
    for reason in ("one", "two", "three"):
        assert client.post(f"/api/v1/submissions/{sid}/flag", json={"reason": reason}, headers=root).status_code == 200
    assert client.get("/api/v1/audit", headers=alice).status_code == 403
    assert client.get("/api/v1/audit").status_code == 401
    page = client.get("/api/v1/audit", params={"limit": 2}, headers=root).json()
    assert [e["reason"] for e in page] == ["three", "two"]
    assert page[0]["actor"] == "root" and page[0]["target_kind"] == "submission" and page[0]["target_id"] == sid
    assert page[0]["summary"] == "root flagged it: three"
    rest = client.get("/api/v1/audit", params={"limit": 2, "offset": 2}, headers=root).json()
    assert [e["reason"] for e in rest] == ["one"]


def test_banned_token_gets_401_with_the_reason(client: TestClient, sqlite_settings: Settings) -> None:
    spammer, root = token_for(sqlite_settings, "spammer"), admin_token(sqlite_settings)
    submit(client, spammer)
    with session_scope(sqlite_settings.database_url) as session:
        token_id = session.scalar(select(ApiToken.id).join(User).where(User.name == "spammer"))
    assert client.post(f"/api/v1/tokens/{token_id}/ban", json=REASON, headers=spammer).status_code == 403
    assert client.post("/api/v1/tokens/999/ban", json=REASON, headers=root).status_code == 404
    res = client.post(f"/api/v1/tokens/{token_id}/ban", json={"reason": "bulk spam"}, headers=root)
    assert res.status_code == 200, res.text
    assert res.json()["banned_reason"] == "bulk spam" and res.json()["revoked_at"] and res.json()["user"] == "spammer"
    refused = client.post("/api/v1/submissions", json={"name": "b", "spec": TINY}, headers=spammer)
    assert refused.status_code == 401
    assert refused.json()["detail"] == "This API token was banned by an admin: bulk spam"
    assert audit(sqlite_settings)[-1] == ("root", "ban", "token", token_id, "bulk spam")


def test_forms_need_the_owner_or_an_admin_and_the_csrf_token(client: TestClient, sqlite_settings: Settings) -> None:
    sign_up(client, "alice")  # with a password, to log in again below
    client.cookies.clear()
    sid = submit(client, token_for(sqlite_settings, "alice"))
    fail_runs(sqlite_settings, sid)
    before = snapshot(sqlite_settings, sid)
    sign_up(client, "mallory")
    page = client.get(f"/submissions/{sid}").text
    assert 'id="manage"' not in page  # no forms for someone who may not use them
    token = csrf(client, "/tokens")
    forms = {
        "hide": {"reason": "x"},
        "unhide": {"reason": "x"},
        "flag": {"reason": "x"},
        "unflag": {"reason": "x"},
        "rerun": {"all": "1"},
        "seeds": {"seeds": "1"},
        "delete": {},
    }
    for action, data in forms.items():
        res = client.post(f"/submissions/{sid}/{action}", data={**data, "csrf_token": token}, follow_redirects=False)
        assert res.status_code == 403, (action, res.status_code)
        assert "mallory" in res.text
        res = client.post(f"/submissions/{sid}/{action}", data=data, follow_redirects=False)
        assert res.status_code == 403 and "security token" in res.text
    assert snapshot(sqlite_settings, sid) == before and audit(sqlite_settings) == []

    # The owner, logged in, re-runs from the page and is sent back to it.
    client.cookies.clear()
    res = client.post(
        "/login", data={"name": "alice", "password": "correct horse", "csrf_token": csrf(client, "/login")}
    )
    assert res.status_code == 200
    page = client.get(f"/submissions/{sid}").text
    assert 'id="rerun-form"' in page and 'id="hide-form"' not in page  # hiding is for admins
    token = csrf(client, f"/submissions/{sid}")
    res = client.post(f"/submissions/{sid}/rerun", data={"csrf_token": token}, follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == f"/submissions/{sid}"
    assert {r["status"] for r in client.get(f"/api/v1/submissions/{sid}").json()["runs"]} == {"queued"}
    res = client.post(f"/submissions/{sid}/seeds", data={"seeds": "1", "csrf_token": token}, follow_redirects=False)
    assert res.status_code == 303 and len(client.get(f"/api/v1/submissions/{sid}").json()["runs"]) == 3
    res = client.post(f"/submissions/{sid}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert res.status_code == 303 and client.get(f"/api/v1/submissions/{sid}").status_code == 404
    assert [action for _, action, _, _, _ in audit(sqlite_settings)] == ["rerun", "add_seeds", "delete"]


def test_admin_forms_hide_and_flag(client: TestClient, sqlite_settings: Settings) -> None:
    alice = token_for(sqlite_settings, "alice")
    sid = submit(client, alice)
    sign_up(client, "moderator")
    with session_scope(sqlite_settings.database_url) as session:
        set_admin(session, "moderator")
    page = client.get(f"/submissions/{sid}").text
    assert 'id="hide-form"' in page and 'id="flag-form"' in page
    token = csrf(client, f"/submissions/{sid}")
    assert client.post(f"/submissions/{sid}/hide", data={"csrf_token": token}).status_code == 422  # reason needed
    res = client.post(f"/submissions/{sid}/hide", data={"reason": "spam", "csrf_token": token}, follow_redirects=False)
    assert res.status_code == 303
    res = client.post(f"/submissions/{sid}/flag", data={"reason": "odd", "csrf_token": token}, follow_redirects=False)
    assert res.status_code == 303
    page = client.get(f"/submissions/{sid}").text
    assert "Hidden by an admin: spam" in page and "Flagged by an admin: odd" in page and 'id="unhide-form"' in page
    assert "moderator hid it: spam" in page and "moderator flagged it: odd" in page
    assert client.get("/api/v1/benchmarks/digits/leaderboard").json()["entries"] == []


def test_the_cli_makes_and_unmakes_admins(tmp_path: Path) -> None:
    from tests.test_cli import archarena

    assert archarena("migrate", home=tmp_path).returncode == 0
    done = archarena("user", "admin", "root", home=tmp_path)
    assert done.returncode == 0 and "root is an admin" in done.stdout, done.stderr
    settings = demo_settings(tmp_path)
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(User.is_admin).where(User.name == "root")) is True
    assert archarena("user", "admin", "root", "--off", home=tmp_path).returncode == 0
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(User.is_admin).where(User.name == "root")) is False
    assert archarena("user", "admin", "no spaces", home=tmp_path).returncode == 2


def test_the_audit_log_page_and_csv_are_for_admins(client: TestClient, sqlite_settings: Settings) -> None:
    alice = token_for(sqlite_settings, "alice")
    sid = submit(client, alice)
    root = admin_token(sqlite_settings)
    assert client.post(
        f"/api/v1/submissions/{sid}/flag", json={"reason": "odd <b>numbers</b>"}, headers=root
    ).is_success
    assert client.get("/audit", follow_redirects=False).headers["location"] == "/login?next=/audit"
    sign_up(client, "visitor")
    refused = client.get("/audit")
    assert refused.status_code == 403 and "only an admin can read the audit log" in refused.text
    assert client.get("/audit.csv").status_code == 403
    with session_scope(sqlite_settings.database_url) as session:
        set_admin(session, "visitor")
    page = client.get("/audit")
    assert page.status_code == 200 and f'href="/submissions/{sid}">submission {sid}</a>' in page.text
    assert "odd &lt;b&gt;numbers&lt;/b&gt;" in page.text and "<b>numbers</b>" not in page.text  # escaped
    rows = client.get("/audit.csv")
    assert rows.headers["content-type"].startswith("text/csv")
    lines = rows.text.strip().splitlines()
    assert lines[0] == "id,at,actor,action,target_kind,target_id,reason,summary"
    assert len(lines) == 2 and ",root,flag,submission," in lines[1] and "odd <b>numbers</b>" in lines[1]


def test_the_audit_csv_never_hands_a_spreadsheet_a_formula(client: TestClient, sqlite_settings: Settings) -> None:
    import csv
    import io

    sid = submit(client, token_for(sqlite_settings, "-cmd"))  # a name may start with '-'
    with session_scope(sqlite_settings.database_url) as session:
        set_admin(session, "-cmd")
        admin = {"Authorization": f"Bearer {create_token(session, '-cmd')}"}
    reason = '=HYPERLINK("http://evil.example","x")'
    assert client.post(f"/api/v1/submissions/{sid}/flag", json={"reason": reason}, headers=admin).is_success
    sign_up(client, "auditor")
    with session_scope(sqlite_settings.database_url) as session:
        set_admin(session, "auditor")
    rows = list(csv.DictReader(io.StringIO(client.get("/audit.csv").text)))
    assert rows[0]["reason"] == "'" + reason and rows[0]["actor"] == "'-cmd"
    assert rows[0]["summary"].startswith("'-cmd flagged it")
    for row in rows:
        assert not any(value.startswith(("=", "+", "-", "@")) for value in row.values()), row
