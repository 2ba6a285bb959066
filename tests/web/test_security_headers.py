"""Every response carries the Content-Security-Policy and hardening headers: pages, API, static files,
vendored Plotly, errors and refusals."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.web.middleware import CONTENT_SECURITY_POLICY

EXPECTED = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


def test_policy_is_the_agreed_one() -> None:
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["script-src"] == "'self'"  # no inline scripts, no eval
    assert directives["frame-ancestors"] == "'none'" and directives["default-src"] == "'self'"
    assert "'unsafe-eval'" not in CONTENT_SECURITY_POLICY


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 200),
        ("GET", "/benchmarks/digits", 200),
        ("GET", "/api/v1/benchmarks", 200),
        ("GET", "/api/v1/submissions/999999", 404),
        ("GET", "/submissions/999999", 404),
        ("GET", "/vendor/plotly.min.js", 200),
        ("POST", "/api/v1/submissions", 401),
        ("PUT", "/api/v1/benchmarks", 405),
    ],
)
def test_headers_on_pages_api_and_errors(client: TestClient, method: str, path: str, status: int) -> None:
    res = client.request(method, path)
    assert res.status_code == status
    for name, value in EXPECTED.items():
        assert res.headers.get(name) == value, (path, name)


def test_headers_on_a_refused_oversized_body(client: TestClient) -> None:
    res = client.post(
        "/api/v1/specs/validate", content=b"x" * (65 * 1024), headers={"content-type": "application/json"}
    )
    assert res.status_code == 413
    assert res.headers["x-frame-options"] == "DENY"
    assert res.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
