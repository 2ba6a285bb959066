"""A real `archarena web` (uvicorn) under hostile requests: X-Forwarded-For from a local caller buys no fresh rate-limit
budget (uvicorn's own header reading is off: it trusts 127.0.0.1 by default), the Host header is never reflected,
HEAD and Allow work through the real server, and NUL characters and 64-bit ids are 422/404."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.stack import Stack, migrated_stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    env = {"ARCHARENA_RATE_LIMIT_PER_MINUTE": "3", "ARCHARENA_MEASURE_PROCESSES": "1"}
    with migrated_stack(tmp_path_factory.mktemp("hostile"), env) as stack:
        stack.start_web()
        yield stack


def test_forwarded_for_from_a_local_caller_buys_no_budget(web: Stack) -> None:
    body = {"benchmark": "digits", "spec": {"preset": "tiny_resnet_digits", "overrides": {}}}
    answers = [
        httpx.post(
            f"{web.base_url}/api/v1/specs/validate", json=body, headers={"X-Forwarded-For": f"10.9.8.{i}"}, timeout=30
        ).status_code
        for i in range(4)
    ]
    assert answers == [200, 200, 200, 429], answers


def test_the_real_server_answers_head_allow_and_relative_redirects(web: Stack) -> None:
    head = httpx.head(f"{web.base_url}/api/v1/benchmarks", timeout=10)
    assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 0
    refused = httpx.put(f"{web.base_url}/api/v1/submissions/1", timeout=10)
    assert refused.status_code == 405 and set(refused.headers["allow"].split(", ")) == {"GET", "HEAD", "DELETE"}
    moved = httpx.get(f"{web.base_url}/api/v1/benchmarks/", headers={"Host": "evil.example"}, timeout=10)
    assert moved.status_code == 307 and moved.headers["location"] == "/api/v1/benchmarks"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/submissions?user=%00",
        "/api/v1/submissions/9223372036854775807",
        "/api/v1/submissions/99999999999999999999999",
        "/submissions/9223372036854775807",
        "/users/%00",
    ],
)
def test_nul_and_huge_ids_are_answered_never_a_server_error(web: Stack, path: str) -> None:
    res = httpx.get(f"{web.base_url}{path}", timeout=10)
    assert res.status_code in (404, 422), (path, res.status_code, res.text[:200])
