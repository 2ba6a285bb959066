"""The submissions API in-process on a migrated SQLite database and a real SQLite broker (no worker)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.db.session import session_scope
from app.users.service import create_token

TINY = {"preset": "tiny_resnet_digits", "overrides": {}}


def token_for(settings: Settings, user: str) -> dict[str, str]:
    with session_scope(settings.database_url) as session:
        return {"Authorization": f"Bearer {create_token(session, user)}"}


def test_validate_reports_compute_and_hash(client: TestClient) -> None:
    res = client.post("/api/v1/specs/validate", json={"benchmark": "digits", "spec": TINY})
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["params"] > 0 and body["flops"] == 2 * body["macs"]
    assert sum(body["macs_breakdown"].values()) == body["macs"]
    assert len(body["spec_hash"]) == 64 and body["canonical_spec"]["family"] == body["family"]


def test_invalid_spec_names_the_field(client: TestClient) -> None:
    spec = {"preset": "tiny_resnet_digits", "overrides": {"no_such_field": 3}}
    res = client.post("/api/v1/specs/validate", json={"benchmark": "digits", "spec": spec})
    assert res.status_code == 422
    locs = [".".join(map(str, e["loc"])) for e in res.json()["detail"]]
    assert any("no_such_field" in loc for loc in locs), locs


def test_unknown_preset_and_benchmark_are_named(client: TestClient) -> None:
    res = client.post("/api/v1/specs/validate", json={"benchmark": "digits", "spec": {"preset": "nope"}})
    assert res.status_code == 422 and "nope" in res.text
    res = client.post("/api/v1/specs/validate", json={"benchmark": "imagenet", "spec": TINY})
    assert res.status_code == 422 and "digits" in res.json()["detail"][0]["msg"]


def test_limits_are_enforced_before_anything_is_stored(client: TestClient, sqlite_settings: Settings) -> None:
    huge = {"preset": "tiny_resnet_digits", "overrides": {"widths": [512, 1024, 2048]}}
    res = client.post(
        "/api/v1/submissions", json={"name": "too big", "spec": huge}, headers=token_for(sqlite_settings, "bob")
    )
    assert res.status_code == 422
    assert "limit" in res.text
    assert client.get("/api/v1/submissions").json() == []


def test_strict_models_refuse_coercion_and_extra_keys(client: TestClient, sqlite_settings: Settings) -> None:
    headers = token_for(sqlite_settings, "bob")
    res = client.post("/api/v1/submissions", json={"name": "x", "spec": TINY, "seeds": "3"}, headers=headers)
    assert res.status_code == 422 and res.json()["detail"][0]["loc"] == ["body", "seeds"]
    res = client.post("/api/v1/submissions", json={"name": "x", "spec": TINY, "colour": "red"}, headers=headers)
    assert res.status_code == 422 and "colour" in res.text
    res = client.post(
        "/api/v1/submissions", content=b"{not json", headers={**headers, "content-type": "application/json"}
    )
    assert res.status_code == 400


def test_tokens_are_required(client: TestClient) -> None:
    body = {"name": "x", "spec": TINY}
    assert client.post("/api/v1/submissions", json=body).status_code == 401
    res = client.post("/api/v1/submissions", json=body, headers={"Authorization": "Bearer aa_unknown"})
    assert res.status_code == 401 and res.headers["www-authenticate"] == "Bearer"


def test_submit_queues_runs_and_only_the_owner_deletes(client: TestClient, sqlite_settings: Settings) -> None:
    alice, bob = token_for(sqlite_settings, "alice"), token_for(sqlite_settings, "bob")
    res = client.post("/api/v1/submissions", json={"name": "mine", "spec": TINY, "seeds": 3}, headers=alice)
    assert res.status_code == 201, res.text
    created = res.json()
    assert created["user"] == "alice" and [r["seed"] for r in created["runs"]] == [0, 1, 2]
    assert all(r["status"] == "queued" for r in created["runs"])
    assert created["recipe_version"].endswith("+epochs2")
    listed = client.get("/api/v1/submissions", params={"user": "alice"}).json()
    assert [s["id"] for s in listed] == [created["id"]]
    assert client.delete(f"/api/v1/submissions/{created['id']}", headers=bob).status_code == 403
    assert client.delete(f"/api/v1/submissions/{created['id']}", headers=alice).status_code == 204
    assert client.get(f"/api/v1/submissions/{created['id']}").status_code == 404


def test_too_many_seeds_names_the_limit(client: TestClient, sqlite_settings: Settings) -> None:
    res = client.post(
        "/api/v1/submissions", json={"name": "x", "spec": TINY, "seeds": 99}, headers=token_for(sqlite_settings, "bob")
    )
    assert res.status_code == 422
    error = res.json()["detail"][0]
    assert error["loc"] == ["body", "seeds"] and "maximum" in error["msg"]


def test_a_megabyte_body_is_refused_before_parsing(client: TestClient, sqlite_settings: Settings) -> None:
    huge = b'{"name": "x", "spec": {"preset": "' + b"a" * 1_000_000 + b'"}}'
    res = client.post(
        "/api/v1/submissions",
        content=huge,
        headers={**token_for(sqlite_settings, "bob"), "content-type": "application/json"},
    )
    assert res.status_code == 413 and "larger than" in res.json()["detail"]
    res = client.post("/api/v1/specs/validate", content=huge, headers={"content-type": "application/json"})
    assert res.status_code == 413


def test_hostile_specs_get_422_never_500(client: TestClient) -> None:
    deep: dict[str, object] = {}
    node = deep
    for _ in range(50):
        node["x"] = {}
        node = node["x"]  # type: ignore[assignment]
    hostile = [
        {"family": "resnet", "widths": [1e308, 2, 3]},
        {"family": "resnet", "layers": [-1, 1, 1]},
        {"family": "metaformer", "stages": [{"depth": 10_000, "width": 10_000}]},
        {"preset": "tiny_resnet_digits", "overrides": deep},
        {"preset": "tiny_resnet_digits", "overrides": {"widths": ["16", "32", "64"]}},
        {"family": "resnet", "__class__": "os.system"},
        {"preset": "tiny_resnet_digits", "overrides": {"widths": [16] * 5000}},
    ]
    for spec in hostile:
        res = client.post("/api/v1/specs/validate", json={"benchmark": "digits", "spec": spec})
        assert res.status_code in (413, 422), (spec, res.status_code, res.text[:300])
    res = client.post(
        "/api/v1/specs/validate",
        content=b'{"benchmark": "digits", "spec": {"family": "resnet", "widths": [NaN, 1, 2]}}',
        headers={"content-type": "application/json"},
    )
    assert res.status_code in (400, 422)
