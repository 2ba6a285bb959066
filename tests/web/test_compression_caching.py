"""Compression and conditional requests: pages, JSON, CSV and plotly.min.js go out gzipped to clients that
accept it; the board's endpoints carry an ETag and Last-Modified from the stored board's version, so a reload
with nothing changed is a 304, and a reload after a change gets the new board."""

from __future__ import annotations

import gzip

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.db.session import session_scope
from app.moderation import service as moderation
from app.submissions.schemas import SubmissionIn
from app.submissions.service import create_submission
from app.users.service import get_or_create_user

BOARD_PATHS = (
    "/api/v1/benchmarks/digits/leaderboard",
    "/api/v1/benchmarks/digits/frontier",
    "/benchmarks/digits",
    "/benchmarks/digits.csv",
    "/benchmarks/digits/figures/explorer?x=params",
)


@pytest.fixture
def entries(sqlite_settings: Settings) -> list[int]:
    with session_scope(sqlite_settings.database_url) as session:
        user = get_or_create_user(session, "cache")
        ids = []
        for preset in ("tiny_resnet_digits", "tiny_vit_digits", "tiny_mixer_digits"):
            body = SubmissionIn(name=preset, spec={"preset": preset, "overrides": {}}, seeds=2)
            ids.append(create_submission(session, user, body, max_epochs=sqlite_settings.max_epochs).id)
    return ids


def raw(client: TestClient, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    with client.stream("GET", path, headers=headers) as res:
        return res.status_code, dict(res.headers), b"".join(res.iter_raw())


@pytest.mark.parametrize("path", [BOARD_PATHS[0], *BOARD_PATHS[2:4], "/vendor/plotly.min.js", "/static/style.css"])
def test_responses_are_gzipped_for_clients_that_accept_it(client: TestClient, entries: list[int], path: str) -> None:
    status, headers, body = raw(client, path, **{"accept-encoding": "gzip"})
    assert status == 200 and headers.get("content-encoding") == "gzip", headers
    plain = client.get(path, headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert gzip.decompress(body) == plain.content
    if path == "/vendor/plotly.min.js":
        assert len(body) < len(plain.content) / 2.5  # 4.8 MB of script, about a third of it on the wire


@pytest.mark.parametrize("path", BOARD_PATHS)
def test_a_reload_without_a_change_is_a_304_and_after_one_a_200(
    client: TestClient, sqlite_settings: Settings, entries: list[int], path: str
) -> None:
    first = client.get(path)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert first.status_code == 200 and etag.startswith('W/"') and first.headers["cache-control"] == "no-cache"
    again = client.get(path, headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert client.get(path, headers={"if-modified-since": modified}).status_code == 304
    assert client.get(path, headers={"if-none-match": 'W/"something-else"'}).status_code == 200
    with session_scope(sqlite_settings.database_url) as session:
        admin = get_or_create_user(session, "admin", is_admin=True)
        moderation.set_flag(session, admin, entries[0], "check the seeds")
    changed = client.get(path, headers={"if-none-match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


def test_the_page_tag_follows_the_visitor(client: TestClient, entries: list[int]) -> None:
    anonymous = client.get("/benchmarks/digits").headers["etag"]
    client.cookies.set("aa_csrf", "another-visitor")
    assert client.get("/benchmarks/digits").headers["etag"] != anonymous
    assert client.get("/benchmarks/digits", headers={"if-none-match": anonymous}).status_code == 200
