"""The whole path on real parts: token → POST a tiny model (2 seeds, 2 epochs on digits) → a worker
subprocess trains it → the database → leaderboard JSON and page → frontier. Once on PostgreSQL + Redis,
once in the embedded mode `archarena demo` uses (SQLite + the SQLAlchemy broker)."""

from __future__ import annotations

import secrets
import statistics
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.core.queue.broker import send_run
from tests.e2e.stack import Stack, migrated_stack, poll_submission, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SPEC = {"preset": "tiny_resnet_digits", "overrides": {}}


@pytest.fixture(params=["postgres_redis", "embedded"])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    queue = f"test-{secrets.token_hex(3)}"
    if request.param == "postgres_redis":
        env = {
            "ARCHARENA_DATABASE_URL": request.getfixturevalue("pg_url"),
            "ARCHARENA_BROKER_URL": request.getfixturevalue("redis_url"),
        }
    else:
        env = {}
    env.update({"ARCHARENA_MAX_EPOCHS": "2", "ARCHARENA_QUEUE": queue})
    with migrated_stack(tmp_path, env) as stack:
        yield stack


def test_submit_train_and_rank(stack: Stack) -> None:
    token = stack.cli("token", "create", "alice").strip()
    assert token.startswith("aa_")
    stack.start_worker()
    base = stack.start_web()

    body = {"benchmark": "digits", "name": "tiny resnet e2e", "spec": SPEC, "seeds": 2}
    assert httpx.post(f"{base}/api/v1/submissions", json=body).status_code == 401
    bad = httpx.post(f"{base}/api/v1/submissions", json=body, headers={"Authorization": "Bearer aa_nope"})
    assert bad.status_code == 401
    res = httpx.post(f"{base}/api/v1/submissions", json=body, headers={"Authorization": f"Bearer {token}"})
    assert res.status_code == 201, res.text
    created = res.json()
    assert [r["status"] for r in created["runs"]] == ["queued", "queued"]
    assert created["params"] > 0 and created["macs"] > 0

    done = poll_submission(base, created["id"], 240, stack)
    assert done["status"] == "finished", stack.logs()
    runs = done["runs"]
    assert isinstance(runs, list) and len(runs) == 2
    accs = []
    for run in runs:
        assert run["status"] == "finished" and run["attempts"] == 1
        assert [e["epoch"] for e in run["epochs"]] == [1, 2]
        assert 0.0 <= run["test_acc"] <= 1.0 and run["recipe_version"].endswith("+epochs2")
        accs.append(run["test_acc"])
    assert {r["seed"] for r in runs} == {0, 1}

    board = httpx.get(f"{base}/api/v1/benchmarks/digits/leaderboard").json()
    entry = next(e for e in board["entries"] if e["id"] == created["id"])
    assert entry["n"] == 2
    assert entry["test_acc_mean"] == pytest.approx(statistics.fmean(accs))
    assert entry["test_acc_std"] == pytest.approx(statistics.stdev(accs))
    page = httpx.get(f"{base}/benchmarks/digits").text
    assert "tiny resnet e2e" in page and 'id="frontier"' in page
    frontier = httpx.get(f"{base}/api/v1/benchmarks/digits/frontier").json()
    assert created["id"] in [p["id"] for p in frontier["points"]]  # the only entry: nothing dominates it

    # The same run delivered twice more: the worker skips it, results stay exactly one set.
    settings = stack.settings()
    run_id = runs[0]["id"]
    for _ in range(2):
        send_run(settings.broker_url, settings.broker_visibility_timeout_s, settings.queue, run_id)
    wait_for(lambda: stack.logs().count(f"run {run_id} is not queued") >= 2, 60, "the duplicates to be skipped")
    again = httpx.get(f"{base}/api/v1/submissions/{created['id']}").json()
    rerun = next(r for r in again["runs"] if r["id"] == run_id)
    assert rerun["attempts"] == 1 and len(rerun["epochs"]) == 2 and rerun["test_acc"] == runs[0]["test_acc"]
