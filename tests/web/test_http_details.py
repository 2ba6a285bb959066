"""HTTP details: a 405 names every allowed method, HEAD is served wherever GET is, redirects never name a host
(the Host header is never reflected), and the OpenAPI document says which operations may answer 429 and 503."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/v1/benchmarks", {"GET", "HEAD"}),
        ("POST", "/", {"GET", "HEAD"}),
        ("PATCH", "/api/v1/submissions/5", {"GET", "HEAD", "DELETE"}),
        ("GET", "/submissions/3/rerun", {"POST"}),
        ("DELETE", "/queue", {"GET", "HEAD"}),
        ("POST", "/static/style.css", {"GET", "HEAD"}),
    ],
)
def test_405_names_every_allowed_method(client: TestClient, method: str, path: str, allowed: set[str]) -> None:
    res = client.request(method, path)
    assert res.status_code == 405
    assert {m.strip() for m in res.headers["allow"].split(",")} == allowed, res.headers.get("allow")


@pytest.mark.parametrize("path", ["/", "/api/v1/benchmarks", "/benchmarks/digits", "/queue", "/static/style.css"])
def test_head_is_served_where_get_is(client: TestClient, path: str) -> None:
    got = client.get(path)
    head = client.head(path)
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-security-policy"] == got.headers["content-security-policy"]


@pytest.mark.parametrize("path", ["/api/v1/benchmarks/", "/static", "/tokens", "/audit"])
def test_redirects_are_relative_whatever_the_host_header_says(client: TestClient, path: str) -> None:
    res = client.get(path, headers={"host": "evil.example"}, follow_redirects=False)
    assert 300 <= res.status_code < 400, (path, res.status_code)
    location = res.headers["location"]
    assert location.startswith("/") and not location.startswith("//"), location
    assert "evil.example" not in location


def test_openapi_documents_the_guards_answers(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path, item in paths.items():
        for method, operation in item.items():
            if method in ("post", "put", "patch", "delete"):
                assert "429" in operation["responses"], (method, path)
    for path in ("/api/v1/specs/validate", "/api/v1/submissions", "/api/v1/studies"):
        busy = paths[path]["post"]["responses"]["503"]
        assert "Retry-After" in busy["headers"]
    assert "409" in paths["/api/v1/submissions/{submission_id}"]["delete"]["responses"]
