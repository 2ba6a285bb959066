"""Integrity of entries: identical submissions at the same moment are one entry (on SQLite and PostgreSQL); a
duplicate that asks for more seeds adds them, charged to the asker, and every answer says what happened; an
entry others joined cannot be deleted under them; a hidden spec blocks no one; ids are never reused; a benchmark
without its data refuses before anything is charged."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, text

from app.core.config import Settings
from app.core.db.session import get_sessionmaker, session_scope
from app.core.db.tables import AuditEvent, Submission
from app.main import create_app
from app.specs.validation import validate_spec
from app.submissions import service
from app.submissions.schemas import SubmissionIn
from app.users.service import get_or_create_user, set_admin
from tests.accounts.test_accounts import csrf
from tests.submissions.test_api import TINY, token_for


def _race(settings: Settings, spec: dict[str, object], n: int = 8) -> list[service.SubmitOutcome | BaseException]:
    validate_spec("digits", spec)  # measured once beforehand: the threads meet at the database, not the pool
    with session_scope(settings.database_url) as session:
        users = [get_or_create_user(session, f"racer{i}-{id(settings) % 10_000}").id for i in range(n)]
    barrier = threading.Barrier(n)
    results: list[service.SubmitOutcome | BaseException] = [RuntimeError("not run")] * n

    def one(i: int) -> None:
        with get_sessionmaker(settings.database_url)() as session:
            user = session.get(service.User, users[i])
            barrier.wait()
            try:
                results[i] = service.submit(
                    session, user, SubmissionIn(name=f"r{i}", spec=spec, seeds=3), max_epochs=settings.max_epochs
                )
                session.commit()
            except BaseException as exc:
                session.rollback()
                results[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def _fresh_spec(settings: Settings) -> dict[str, object]:
    """A spec no entry of this (possibly shared) database has yet: the race must start from nothing."""
    from app.zoo.spec import parse_spec, spec_hash

    with session_scope(settings.database_url) as session:
        taken = set(session.scalars(select(Submission.spec_hash)))
    for width in range(14, 64):
        spec: dict[str, object] = {"preset": "tiny_resnet_digits", "overrides": {"stem_width": width}}
        if spec_hash(parse_spec(spec)) not in taken:
            return spec
    raise AssertionError("no fresh spec left")


def test_eight_identical_submissions_at_once_are_one_entry(db_settings: Settings, roomy_measuring: None) -> None:
    spec = _fresh_spec(db_settings)
    results = _race(db_settings, spec)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    outcomes = [r for r in results if isinstance(r, service.SubmitOutcome)]
    created = [o for o in outcomes if o.joined is None]
    assert len(created) == 1 and all(o.submission.id == created[0].submission.id for o in outcomes)
    with session_scope(db_settings.database_url) as session:
        same = session.scalar(
            select(func.count()).select_from(Submission).where(Submission.spec_hash == created[0].submission.spec_hash)
        )
        joins = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "join", AuditEvent.target_id == created[0].submission.id)
        )
    assert same == 1 and joins == 7


def test_a_duplicate_asking_for_more_seeds_adds_them_and_says_so(client: TestClient, sqlite_settings: Settings) -> None:
    alice, bob, carol = (token_for(sqlite_settings, n) for n in ("alice", "bob", "carol"))
    first = client.post("/api/v1/submissions", json={"name": "mine", "spec": TINY, "seeds": 1}, headers=alice)
    assert first.status_code == 201 and first.json()["duplicate"] is None
    sid = first.json()["id"]

    more = client.post("/api/v1/submissions", json={"name": "again", "spec": TINY, "seeds": 3}, headers=bob)
    assert more.status_code == 200, more.text
    body = more.json()
    assert body["id"] == sid and body["seeds_requested"] == 3 and len(body["runs"]) == 3
    joined = body["duplicate"]
    assert (joined["of"], joined["owner"], joined["seeds"], joined["seeds_added"]) == (sid, "alice", 3, 2)
    assert joined["quota_used"] > 0 and joined["quota_used"] == pytest.approx(
        float(more.headers["x-quota-charged"]), abs=1
    )
    used = f"{joined['quota_used']:.0f} s of your daily run-seconds"
    assert joined["message"] == f"identical to #{sid} by alice: 2 seeds added (now 3), {used}"
    limit = int(more.headers["x-quota-limit"])
    assert int(more.headers["x-quota-remaining"]) < limit and more.headers["x-duplicate-of"] == str(sid)

    same = client.post("/api/v1/submissions", json={"name": "third", "spec": TINY}, headers=carol)
    assert same.status_code == 200 and same.headers["x-quota-remaining"] == str(limit)
    expected = f"identical to #{sid} by alice, being trained with 3 seeds; no quota used"
    assert same.json()["duplicate"]["message"] == expected

    page = client.get(f"/submissions/{sid}").text
    assert "bob added 2 seeds (1, 2) with an identical submission (paid in run-seconds)" in page
    assert "carol submitted the same spec (joined this entry)" in page

    refused = client.delete(f"/api/v1/submissions/{sid}", headers=alice)
    assert refused.status_code == 409 and "bob, carol" in refused.json()["detail"]
    assert client.get(f"/api/v1/submissions/{sid}").status_code == 200


def test_a_spec_that_differs_only_in_ignored_fields_joins_the_entry(
    client: TestClient, sqlite_settings: Settings
) -> None:
    alice, bob = (token_for(sqlite_settings, n) for n in ("alice", "bob"))
    spec = {"family": "resnet", "layers": [1], "widths": [8], "stem": "cifar", "stem_width": 8}
    moot = {**spec, "shortcut": "zero_pad"}  # no block changes shape: the shortcut type never acts
    first = client.post("/api/v1/submissions", json={"name": "r", "spec": spec, "seeds": 1}, headers=alice)
    assert first.status_code == 201, first.text
    same = client.post("/api/v1/submissions", json={"name": "r2", "spec": moot, "seeds": 1}, headers=bob)
    assert same.status_code == 200, same.text
    assert same.json()["duplicate"]["of"] == first.json()["id"]
    changed = {**spec, "widths": [12], "stem_width": 12}
    other = client.post("/api/v1/submissions", json={"name": "r3", "spec": changed, "seeds": 1}, headers=bob)
    assert other.status_code == 201 and other.json()["duplicate"] is None
    with session_scope(sqlite_settings.database_url) as session:
        prints = session.scalars(select(Submission.fingerprint).order_by(Submission.id)).all()
    assert len(prints) == 2 and None not in prints and prints[0] != prints[1]


def test_the_submit_page_says_what_a_duplicate_did(client: TestClient) -> None:
    form = {"name": "web", "spec": '{"preset": "tiny_resnet_digits", "overrides": {}}', "seeds": "3"}
    first = client.post("/submit", data={**form, "csrf_token": csrf(client, "/submit")}, follow_redirects=False)
    sid = int(first.headers["location"].rsplit("/", 1)[1])
    again = client.post("/submit", data={**form, "csrf_token": csrf(client, "/submit")})
    assert again.status_code == 200 and str(again.url).endswith(f"/submissions/{sid}?added=0")
    assert f"Your submission was identical to #{sid} by demo, being trained with 3 seeds; no quota used." in again.text
    more = client.post("/submit", data={**form, "seeds": "5", "csrf_token": csrf(client, "/submit")})
    assert "2 seeds added (now 5), " in more.text and " s of your daily run-seconds" in more.text


def test_deleting_is_soft_ids_are_never_reused_and_quota_stays_spent(
    client: TestClient, sqlite_settings: Settings
) -> None:
    alice = token_for(sqlite_settings, "alice")
    spec = {"preset": "tiny_mixer_digits", "overrides": {}}
    made = client.post("/api/v1/submissions", json={"name": "gone", "spec": spec, "seeds": 2}, headers=alice)
    sid = made.json()["id"]
    remaining = made.headers["x-quota-remaining"]
    assert client.delete(f"/api/v1/submissions/{sid}?reason=mistake", headers=alice).status_code == 204

    assert client.get(f"/api/v1/submissions/{sid}").status_code == 404
    assert client.get("/api/v1/submissions").json() == []
    assert client.get("/api/v1/submissions?user=alice").json() == []
    assert ">gone<" not in client.get("/users/alice").text and ">gone<" not in client.get("/queue").text
    entries = client.get("/api/v1/benchmarks/digits/leaderboard").json()["entries"]
    assert sid not in [e["id"] for e in entries]
    with session_scope(sqlite_settings.database_url) as session:
        row = session.get(Submission, sid)
        assert row is not None and row.deleted_at is not None and row.deleted_reason == "mistake"
        runs = session.execute(text("SELECT status, error_kind FROM runs WHERE submission_id = :s"), {"s": sid}).all()
        assert [tuple(r) for r in runs] == [("failed", "cancelled")] * 2  # kept, and never trained
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.target_id == sid)) == 1

    again = client.post("/api/v1/submissions", json={"name": "back", "spec": spec, "seeds": 2}, headers=alice)
    assert again.status_code == 201 and again.json()["id"] > sid  # a new entry, not the deleted one
    charged = round(float(again.headers["x-quota-charged"]))
    assert (
        charged > 0 and abs(int(again.headers["x-quota-remaining"]) - (int(remaining) - charged)) <= 1
    )  # nothing back

    with session_scope(sqlite_settings.database_url) as session:  # even a row really removed leaves its id used
        session.execute(delete(Submission).where(Submission.id == again.json()["id"]))
    third = client.post("/api/v1/submissions", json={"name": "3rd", "spec": TINY}, headers=alice)
    assert third.json()["id"] > again.json()["id"]


def test_every_table_is_autoincrement_on_sqlite(sqlite_settings: Settings) -> None:
    with session_scope(sqlite_settings.database_url) as session:
        tables = session.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")).all()
    # board_entries is keyed by (board, position) and replaced whole with each snapshot: no id to reuse.
    skip = ("alembic_version", "sqlite_sequence", "board_entries")
    ours = {name: sql for name, sql in tables if name not in skip}
    assert len(ours) >= 9 and all("AUTOINCREMENT" in sql for sql in ours.values()), ours


def test_a_study_variant_cannot_be_deleted_on_its_own(client: TestClient, sqlite_settings: Settings) -> None:
    owner = token_for(sqlite_settings, "scientist")
    study = {
        "name": "mixers",
        "benchmark": "digits",
        "base_spec": {"preset": "tiny_vit_digits", "overrides": {}},
        "axis": "mixer",
        "values": ["pooling", "identity"],
        "seeds": 3,
    }
    res = client.post("/api/v1/studies", json=study, headers=owner)
    assert res.status_code == 201, res.text
    variant = next(v["submission_id"] for v in res.json()["variant_list"] if v["submission_id"])
    refused = client.delete(f"/api/v1/submissions/{variant}", headers=owner)
    assert refused.status_code == 409 and "variant of study" in refused.json()["detail"]
    assert client.get(f"/api/v1/submissions/{variant}").status_code == 200


def test_a_hidden_spec_does_not_block_the_architecture(client: TestClient, sqlite_settings: Settings) -> None:
    with session_scope(sqlite_settings.database_url) as session:
        set_admin(session, "root")
    admin, bob = token_for(sqlite_settings, "root"), token_for(sqlite_settings, "bob")
    spec = {"preset": "tiny_plain_digits", "overrides": {}}
    first = client.post("/api/v1/submissions", json={"name": "bad", "spec": spec}, headers=admin).json()
    client.post(f"/api/v1/submissions/{first['id']}/hide", json={"reason": "trained on test"}, headers=admin)
    fresh = client.post("/api/v1/submissions", json={"name": "honest", "spec": spec}, headers=bob)
    assert fresh.status_code == 201 and fresh.json()["id"] != first["id"], fresh.text
    unhide = client.post(f"/api/v1/submissions/{first['id']}/unhide", json={"reason": "appeal"}, headers=admin)
    assert unhide.status_code == 200  # two live entries of one spec now; the older joins the next duplicate
    dup = client.post("/api/v1/submissions", json={"name": "x", "spec": spec}, headers=bob)
    assert dup.status_code == 200 and dup.json()["id"] == first["id"]


def test_hidden_and_flagged_entries_are_marked_or_left_out_everywhere(
    client: TestClient, sqlite_settings: Settings
) -> None:
    with session_scope(sqlite_settings.database_url) as session:
        set_admin(session, "root")
    admin, alice = token_for(sqlite_settings, "root"), token_for(sqlite_settings, "alice")
    hidden = client.post("/api/v1/submissions", json={"name": "hid", "spec": TINY}, headers=alice).json()["id"]
    other = {"preset": "tiny_mixer_digits", "overrides": {}}
    flagged = client.post("/api/v1/submissions", json={"name": "flg", "spec": other}, headers=alice).json()["id"]
    client.post(f"/api/v1/submissions/{hidden}/hide", json={"reason": "leak"}, headers=admin)
    client.post(f"/api/v1/submissions/{flagged}/flag", json={"reason": "suspicious"}, headers=admin)

    public = client.get("/api/v1/submissions").json()
    assert [s["id"] for s in public] == [flagged] and public[0]["flag_reason"] == "suspicious"
    mine = {s["id"]: s for s in client.get("/api/v1/submissions?user=alice").json()}
    assert mine[hidden]["hidden_reason"] == "leak" and mine[flagged]["flag_reason"] == "suspicious"
    profile = client.get("/users/alice").text
    assert "hidden by an admin: leak" in profile and "flagged by an admin: suspicious" in profile
    queue = client.get("/queue").text
    assert "hidden by an admin: leak" in queue and "flagged by an admin: suspicious" in queue
    compare = client.get(f"/compare?ids={hidden},{flagged}").text
    assert "is hidden by an admin (off every board): leak" in compare
    assert "is flagged by an admin: suspicious" in compare
    resubmit = client.get(f"/submit?from={hidden}").text
    assert "is hidden by an admin (off every board): leak" in resubmit
    assert "is flagged by an admin: suspicious" in client.get(f"/submit?from={flagged}").text


def test_a_benchmark_without_its_data_refuses_before_charging(tmp_path: Path, sqlite_settings: Settings) -> None:
    settings = sqlite_settings.model_copy(update={"data_dir": tmp_path / "empty"})
    alice = token_for(settings, "alice")
    spec = {"preset": "tiny_resnet_digits", "overrides": {}}
    with TestClient(create_app(settings)) as client:
        res = client.post("/api/v1/submissions", json={"benchmark": "mnist", "name": "m", "spec": spec}, headers=alice)
        assert res.status_code == 409, res.text
        detail = res.json()["detail"]
        assert "archarena data fetch mnist" in detail and "nothing was charged" in detail
        assert str(tmp_path) not in detail and "/" not in detail.replace("archarena data fetch", "")
        ok = client.post("/api/v1/submissions", json={"name": "d", "spec": spec}, headers=alice)
        assert ok.status_code == 201  # the refused one charged nothing: only this one's projection is spent
        spent = int(ok.headers["x-quota-limit"]) - int(ok.headers["x-quota-remaining"])
        assert abs(spent - round(float(ok.headers["x-quota-charged"]))) <= 1
        assert [s["benchmark"] for s in client.get("/api/v1/submissions").json()] == ["digits"]
        study = {"name": "s", "benchmark": "mnist", "base_spec": spec, "axis": "depth", "values": [1, 2]}
        refused = client.post("/api/v1/studies", json=study, headers=alice)
        assert refused.status_code == 409 and "archarena data fetch mnist" in refused.json()["detail"]
        assert client.get("/api/v1/studies").json() == [] and client.get("/api/v1/submissions").json()[0]["id"]


def test_run_errors_shown_to_the_public_name_no_server_paths(client: TestClient, sqlite_settings: Settings) -> None:
    from sqlalchemy import update

    from app.core.db.tables import Run

    alice = token_for(sqlite_settings, "alice")
    sid = client.post("/api/v1/submissions", json={"name": "p", "spec": TINY, "seeds": 1}, headers=alice).json()["id"]
    message = (
        "mnist: dataset files not found (/srv/secret/data/mnist/train-images-idx3-ubyte.gz); "
        "run: archarena data fetch mnist (data directory: /srv/secret/data)"
    )
    with session_scope(sqlite_settings.database_url) as session:
        session.execute(
            update(Run)
            .where(Run.submission_id == sid)
            .values(status="failed", error_kind="data", error_message=message)
        )
    shown = client.get(f"/api/v1/submissions/{sid}").json()["runs"][0]["error_message"]
    assert "/srv/secret" not in shown and "…/train-images-idx3-ubyte.gz" in shown and "data fetch mnist" in shown
    for page in (f"/submissions/{sid}", "/queue"):
        assert "/srv/secret" not in client.get(page).text, page
