"""A re-run on the real embedded stack: a worker trains a run, its owner re-runs it through the API of a real
`archarena web`, and the worker trains it again from scratch (one attempt, a fresh epoch history)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.stack import Stack, migrated_stack, poll_submission

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with migrated_stack(tmp_path, {"ARCHARENA_MAX_EPOCHS": "1"}) as stack:
        yield stack


def test_a_rerun_run_is_trained_again_by_a_real_worker(stack: Stack) -> None:
    headers = {"Authorization": f"Bearer {stack.cli('token', 'create', 'alice').strip()}"}
    stack.start_worker()
    base = stack.start_web()
    body = {"name": "rerun e2e", "spec": {"preset": "tiny_resnet_digits", "overrides": {}}, "seeds": 1}
    created = httpx.post(f"{base}/api/v1/submissions", json=body, headers=headers, timeout=30).json()
    first = poll_submission(base, created["id"], 240, stack)
    (before,) = first["runs"]  # type: ignore[misc]
    assert first["status"] == "finished" and before["attempts"] == 1, stack.logs()

    res = httpx.post(
        f"{base}/api/v1/submissions/{created['id']}/rerun", json={"all": True}, headers=headers, timeout=30
    )
    assert res.status_code == 200, res.text
    assert [r["status"] for r in res.json()["runs"]] == ["queued"] and res.json()["runs"][0]["epochs"] == []
    again = poll_submission(base, created["id"], 240, stack)
    (after,) = again["runs"]  # type: ignore[misc]
    assert again["status"] == "finished", stack.logs()
    assert after["id"] == before["id"] and after["attempts"] == 1
    assert [e["epoch"] for e in after["epochs"]] == [1] and after["finished_at"] > before["finished_at"]
    page = httpx.get(f"{base}/submissions/{created['id']}").text
    assert "alice re-ran all 1 run" in page
