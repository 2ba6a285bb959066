"""The scheduler on the real stack (PostgreSQL, Redis, a real `archarena web` and `archarena worker`): a user with
nine queued runs does not delay a user with one, and a real worker trains each 3-seed digits submission as one
batched run (batching forced on this CPU) with epoch rows for every seed, results within the engine's stated
tolerance of the one-by-one path, and each run's quota charge settled with the seconds it used."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import torch
from sqlalchemy import select

from app.benchmarks.registry import get_benchmark
from app.core.db.session import session_scope
from app.core.db.tables import QuotaCharge
from app.zoo.spec import parse_spec
from tests.e2e.stack import Stack, migrated_stack, poll_submission
from tests.runs.fresh_pg import fresh_database
from tests.workers.training.test_batched import REAL_RECIPE_ATOL
from workers.training.train_spec import train

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def stack(tmp_path: Path, redis_url: str) -> Iterator[Stack]:
    with fresh_database() as pg_url, migrated_stack(tmp_path, _env(pg_url, redis_url)) as stack:
        yield stack


def _env(pg_url: str, redis_url: str) -> dict[str, str]:
    return {
        "ARCHARENA_DATABASE_URL": pg_url,
        "ARCHARENA_BROKER_URL": redis_url,
        "ARCHARENA_MAX_EPOCHS": "2",
        "ARCHARENA_BATCH_ON_CPU": "true",
        "ARCHARENA_DEVICE": "cpu",  # compared with one-by-one runs on this CPU
    }


def submit(base: str, headers: dict[str, str], name: str, width: int, seeds: int) -> dict[str, Any]:
    spec = {"preset": "tiny_resnet_digits", "overrides": {"stem_width": width}}
    res = httpx.post(
        f"{base}/api/v1/submissions", json={"name": name, "spec": spec, "seeds": seeds}, headers=headers, timeout=60
    )
    assert res.status_code == 201, res.text
    body: dict[str, Any] = res.json()
    return body


def test_fair_order_and_batched_seeds_with_a_real_worker(stack: Stack) -> None:
    heavy = {"Authorization": f"Bearer {stack.cli('token', 'create', 'heavy').strip()}"}
    light = {"Authorization": f"Bearer {stack.cli('token', 'create', 'light').strip()}"}
    base = stack.start_web()
    mine = [submit(base, heavy, f"heavy {i}", 12 + 2 * i, 3) for i in range(3)]
    theirs = submit(base, light, "light", 30, 1)
    assert theirs["queue_position"] == 1  # behind the heavy user's first run only, not all nine
    assert theirs["estimated_start"] is not None
    queue = httpx.get(f"{base}/queue", timeout=30).text
    assert queue.count("<tr data-run=") == 10

    stack.start_worker()
    done = {s["id"]: poll_submission(base, s["id"], 600, stack) for s in [*mine, theirs]}
    assert all(d["status"] == "finished" for d in done.values()), stack.logs()
    starts = {name: min(r["started_at"] for r in d["runs"]) for name, d in ((d["name"], d) for d in done.values())}
    order = sorted(starts, key=lambda name: starts[name])
    print("start order:", order)
    assert order == ["heavy 0", "light", "heavy 1", "heavy 2"], stack.logs()

    torch.set_num_threads(1)  # as the worker (OMP_NUM_THREADS=1)
    bench = get_benchmark("digits")
    gaps = []
    for d in (done[s["id"]] for s in mine):
        runs = d["runs"]
        assert [(r["status"], r["attempts"], [e["epoch"] for e in r["epochs"]]) for r in runs] == [
            ("finished", 1, [1, 2])
        ] * 3
        assert len({r["images_per_second"] for r in runs}) == 1  # the three seeds trained as one batched model
        spec = parse_spec(d["spec"])
        for run in runs:
            alone = train(spec, bench, run["seed"], max_epochs=2)
            gaps += [abs(run[k] - getattr(alone, k)) for k in ("train_loss", "val_loss", "test_loss", "test2_loss")]
            assert abs(run["test_acc"] - alone.test_acc) * bench.n_test <= 3
    print(f"real worker, batched vs one by one: largest loss gap {max(gaps):.2e} (tolerance {REAL_RECIPE_ATOL:g})")
    assert max(gaps) <= REAL_RECIPE_ATOL

    with session_scope(stack.settings().database_url) as session:
        charges = list(session.scalars(select(QuotaCharge)))
    assert len(charges) == 10 and all(c.outcome == "finished" and (c.seconds or 0) > 0 for c in charges)
