"""Real data on the real stack: the CLI imports Debian's Fashion-MNIST files exactly as an operator would, a
token submits the tiny ResNet, a worker process trains it on the real 55,000 training images (one epoch: a
capped run), and its result reaches the board — public test accuracy shown, private test accuracy stored and
never shown per entry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.core.db.session import session_scope
from app.core.db.tables import Run
from tests.benchmarks.conftest import require_fashion_mnist_package
from tests.e2e.stack import Stack, migrated_stack, poll_submission

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def stack(tmp_path: Path, pg_url: str, redis_url: str) -> Iterator[Stack]:
    require_fashion_mnist_package()
    env = {"ARCHARENA_DATABASE_URL": pg_url, "ARCHARENA_BROKER_URL": redis_url, "ARCHARENA_MAX_EPOCHS": "1"}
    with migrated_stack(tmp_path, env) as stack:
        yield stack


def test_a_real_fashion_mnist_run_reaches_the_board(stack: Stack) -> None:
    imported = stack.cli("data", "import", "fashion_mnist")
    assert "fashion_mnist" in imported and (stack.home / "data" / "fashion_mnist").is_dir()
    token = stack.cli("token", "create", "fmnist-user").strip()
    stack.start_worker()
    base = stack.start_web()
    body = {"benchmark": "fashion_mnist", "name": "real images", "seeds": 1,
            "spec": {"preset": "tiny_resnet_fmnist", "overrides": {}}}  # fmt: skip
    res = httpx.post(f"{base}/api/v1/submissions", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    assert res.status_code == 201, res.text
    done = poll_submission(base, res.json()["id"], 600, stack)
    assert done["status"] == "finished", stack.logs()
    (run,) = done["runs"]
    print(f"\none epoch of real Fashion-MNIST: test accuracy {run['test_acc']:.3f} in {run['wall_seconds']:.0f} s")
    assert run["test_acc"] > 0.6 and run["recipe_version"] == "fashion_mnist-v2+epochs1"
    assert "test_private_acc" not in run  # the private half is never shown per entry
    with session_scope(stack.settings().database_url) as session:
        private = session.scalar(select(Run.test_private_acc).where(Run.id == run["id"]))
    assert private is not None and abs(private - run["test_acc"]) < 0.05  # same distribution, other half
    board = httpx.get(f"{base}/api/v1/benchmarks/fashion_mnist/leaderboard", timeout=30).json()
    assert [e["name"] for e in board["entries"]] == ["real images"]
