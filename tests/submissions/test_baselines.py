"""The platform's baselines: every one fits its benchmark, RepMLP is among them with its deploy-time size and cost
on the entry's page and API, and the Fashion-MNIST ones are created only when asked for."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.benchmarks.registry import get_benchmark
from app.core.config import Settings
from app.core.db.session import session_scope
from app.core.db.tables import Submission
from app.submissions.baselines import BASELINES, seed_baselines
from app.zoo import fits

ALL = sorted({(b, p) for b, presets in BASELINES.items() for p in presets})


@pytest.mark.parametrize(("benchmark", "preset"), ALL, ids=[f"{b}:{p}" for b, p in ALL])
def test_every_baseline_fits_its_benchmark(benchmark: str, preset: str) -> None:
    b = get_benchmark(benchmark)
    assert fits({"preset": preset}, b.input_shape, b.num_classes, b.limits, b.recipe.batch_size)


def test_repmlp_is_a_baseline_of_every_builtin_benchmark() -> None:
    repmlp = {b: [p for p in presets if "repmlp" in p] for b, presets in BASELINES.items()}
    assert repmlp == {
        "digits": ["tiny_repmlp_digits"],
        "pathfinder": ["tiny_repmlp_synth"],
        "shapes": ["tiny_repmlp_synth"],
        "fashion_mnist": ["tiny_repmlp_32"],
    }


def test_the_repmlp_entry_shows_train_and_deploy_cost(client: TestClient, sqlite_settings: Settings) -> None:
    with session_scope(sqlite_settings.database_url) as session:
        created = seed_baselines(session, max_epochs=2, only=["tiny_repmlp_digits", "tiny_resnet_digits"])
        ids = {s.name: s.id for s in created}
    api = client.get(f"/api/v1/submissions/{ids['tiny_repmlp_digits']}").json()
    assert api["deploy_macs"] is not None and api["deploy_params"] is not None
    assert api["deploy_macs"] < api["macs"]  # the local conv branches and the BN fold into the FC
    page = client.get(f"/submissions/{ids['tiny_repmlp_digits']}").text
    assert 'id="deploy-cost"' in page and "At deploy" in page
    resnet = client.get(f"/api/v1/submissions/{ids['tiny_resnet_digits']}").json()
    assert resnet["deploy_macs"] is None and 'id="deploy-cost"' not in client.get(resnet["url"]).text
    board = client.get("/api/v1/benchmarks/digits/leaderboard").json()["entries"]
    assert {e["name"]: e["deploy_macs"] for e in board}["tiny_repmlp_digits"] == api["deploy_macs"]


def test_fashion_mnist_baselines_include_repmlp(sqlite_settings: Settings) -> None:
    with session_scope(sqlite_settings.database_url) as session:
        created = seed_baselines(session, max_epochs=2, only=["tiny_repmlp_32", "tiny_repmlp_digits"])
        assert {(s.benchmark, s.name) for s in created} == {
            ("digits", "tiny_repmlp_digits"), ("fashion_mnist", "tiny_repmlp_32")
        }  # fmt: skip
        fmnist = next(s for s in created if s.benchmark == "fashion_mnist")
        assert session.scalar(select(Submission.deploy_macs).where(Submission.id == fmnist.id))
