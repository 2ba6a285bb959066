"""Hostile input is a 422 or 404 naming what is wrong, never a server error, on SQLite and on PostgreSQL: NUL
characters in any text (query, path, form, JSON), ids far beyond 32 bits on every id route, values nested deeper
than any spec, and form numbers that only look like numbers (``"²"``)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.db.session import session_scope
from app.main import create_app
from app.users.service import create_token, set_admin
from tests.accounts.test_accounts import csrf, sign_up
from tests.submissions.test_api import TINY

HUGE_IDS = [0, -1, 2**31, 2**62, 2**63, 2**64, 10**30]


@pytest.fixture
def hostile(db_settings: Settings) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """A client of an app on either database, and an admin's token."""
    with session_scope(db_settings.database_url) as session:
        name = f"root{id(db_settings) % 100_000}"
        set_admin(session, name)
        token = create_token(session, name)
    with TestClient(create_app(db_settings), raise_server_exceptions=False) as client:
        yield client, {"Authorization": f"Bearer {token}"}


def _names_field(res: object, *loc: object) -> bool:
    detail = res.json()["detail"]  # type: ignore[attr-defined]
    return any(list(e["loc"][: len(loc)]) == list(loc) for e in detail)


@pytest.mark.parametrize(
    ("path", "loc"),
    [
        ("/api/v1/submissions?user=%00", ["query", "user"]),
        ("/api/v1/submissions?benchmark=digits%00", ["query", "benchmark"]),
        ("/api/v1/submissions?status=queued&user=a%00b", ["query", "user"]),
        ("/api/v1/benchmarks/dig%00its", ["path"]),
        ("/api/v1/benchmarks/digits/leaderboard?sort=%00", ["query", "sort"]),
        ("/api/v1/compare?ids=1,%00", ["query", "ids"]),
    ],
)
def test_nul_in_the_query_or_path_is_422_naming_it(
    hostile: tuple[TestClient, dict[str, str]], path: str, loc: list[str]
) -> None:
    client, _ = hostile
    res = client.get(path)
    assert res.status_code == 422, res.text
    assert _names_field(res, *loc), res.json()


def test_nul_in_json_bodies_is_422_naming_the_field(hostile: tuple[TestClient, dict[str, str]]) -> None:
    client, admin = hostile
    before = len(client.get("/api/v1/submissions?limit=500").json())
    res = client.post("/api/v1/specs/validate", json={"benchmark": "digits", "spec": {"preset": "tiny\x00"}})
    assert res.status_code == 422 and _names_field(res, "body", "spec", "preset"), res.text
    res = client.post("/api/v1/submissions", json={"name": "a\x00b", "spec": TINY}, headers=admin)
    assert res.status_code == 422 and _names_field(res, "body", "name"), res.text
    res = client.post("/api/v1/submissions", json={"name": "n", "spec": {"pre\x00set": "x"}}, headers=admin)
    assert res.status_code == 422 and _names_field(res, "body", "spec"), res.text
    res = client.post("/api/v1/studies", json={"name": "s\x00", "axis": "mixer", "values": []}, headers=admin)
    assert res.status_code == 422 and _names_field(res, "body", "name"), res.text
    assert len(client.get("/api/v1/submissions?limit=500").json()) == before


@pytest.mark.parametrize(("path", "field"), [("/login", "name"), ("/signup", "name"), ("/submit", "spec")])
def test_nul_in_forms_is_422_naming_the_field(
    hostile: tuple[TestClient, dict[str, str]], path: str, field: str
) -> None:
    client, _ = hostile
    data = {"name": "alice", "password": "correct horse", "spec": "{}", "csrf_token": csrf(client, path)}
    data[field] = data[field][:2] + "\x00" + data[field][2:]
    res = client.post(path, data=data)
    assert res.status_code == 422, res.text
    assert field in res.text and "NUL" in res.text


def _id_requests(big: int) -> list[tuple[str, str]]:
    return [
        ("GET", f"/api/v1/submissions/{big}"),
        ("DELETE", f"/api/v1/submissions/{big}"),
        ("POST", f"/api/v1/submissions/{big}/hide"),
        ("POST", f"/api/v1/submissions/{big}/rerun"),
        ("POST", f"/api/v1/submissions/{big}/seeds"),
        ("GET", f"/api/v1/studies/{big}"),
        ("POST", f"/api/v1/tokens/{big}/ban"),
        ("GET", f"/api/v1/compare?ids=1,{big}"),
        ("GET", f"/submissions/{big}"),
        ("GET", f"/studies/{big}"),
        ("GET", f"/submit?from={big}"),
        ("GET", f"/compare?ids=1,{big}"),
        ("GET", f"/audit?page={big}"),
    ]


@pytest.mark.parametrize("big", HUGE_IDS)
def test_out_of_range_ids_are_404_or_422_on_every_id_route(
    hostile: tuple[TestClient, dict[str, str]], big: int
) -> None:
    client, admin = hostile
    body = {"reason": "r", "seeds": 1}
    for method, path in _id_requests(big):
        res = client.request(method, path, headers=admin, json=body if method == "POST" else None)
        assert res.status_code in (400, 404, 422), (method, path, res.status_code, res.text[:300])


def test_json_nested_deeper_than_any_spec_is_422(hostile: tuple[TestClient, dict[str, str]]) -> None:
    client, admin = hostile
    for depth in (40, 5000):
        spec: object = {}
        for _ in range(depth):
            spec = {"x": spec}
        body = '{"benchmark": "digits", "spec": ' + ('{"x": ' * depth) + "{}" + ("}" * depth) + "}"
        res = client.post("/api/v1/specs/validate", content=body, headers={"content-type": "application/json"})
        assert res.status_code == 422 and "nested deeper" in res.text, (depth, res.status_code, res.text[:200])
    deep = b"[" * 20_000 + b"]" * 20_000
    res = client.post("/api/v1/submissions", content=deep, headers={**admin, "content-type": "application/json"})
    assert res.status_code == 422 and "nested deeper" in res.text


def test_deeply_nested_form_values_are_422_naming_the_field(hostile: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = hostile
    for text in ("[" * 9000 + "]" * 9000, "a:\n" + "".join(" " * i + "- [\n" for i in range(40))):
        data = {"name": "deep", "spec": text, "csrf_token": csrf(client, "/submit")}
        res = client.post("/submit", data=data)
        assert res.status_code == 422, (res.status_code, res.text[:300])
        assert "spec" in res.text
    data = {**DEFAULT_STUDY_FORM, "values": "[" * 9000 + "]" * 9000, "csrf_token": csrf(client, "/submit")}
    res = client.post("/studies/new", data=data)
    assert res.status_code == 422 and "values" in res.text


DEFAULT_STUDY_FORM = {
    "name": "odd",
    "benchmark": "digits",
    "preset": "tiny_vit_digits",
    "axis": "mixer",
    "values": "attention, pooling",
    "series": "",
    "match": "",
    "seeds": "3",
}


def test_numbers_that_only_look_like_numbers_are_422_naming_the_field(client: TestClient) -> None:
    form = {"name": "sup", "spec": '{"preset": "tiny_resnet_digits", "overrides": {}}', "seeds": "²"}
    res = client.post("/submit", data={**form, "csrf_token": csrf(client, "/submit")})
    assert res.status_code == 422 and "seeds" in res.text, res.text[:300]
    res = client.post("/studies/new", data={**DEFAULT_STUDY_FORM, "seeds": "²", "csrf_token": csrf(client, "/submit")})
    assert res.status_code == 422 and "seeds" in res.text, res.text[:300]

    sign_up(client, "owner")
    data = {**form, "seeds": "1", "csrf_token": csrf(client, "/submit")}
    res = client.post("/submit", data=data, follow_redirects=False)
    assert res.status_code == 303, res.text[:300]
    sid = int(re.findall(r"\d+", res.headers["location"])[0])
    for odd in ("²", "٣", "1e3", "0x10", " 3 4"):
        data = {"seeds": odd, "csrf_token": csrf(client, f"/submissions/{sid}")}
        res = client.post(f"/submissions/{sid}/seeds", data=data)
        assert res.status_code == 422 and "seeds" in res.text, (odd, res.status_code, res.text[:300])
