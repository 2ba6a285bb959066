"""Where families cross, on a real board: the API's fits and sentences, the page's section, too-few groups, and
the deploy cost axis of the explorer."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from app.benchmarks.registry import get_benchmark
from app.core.config import Settings
from app.core.db.session import session_scope
from app.core.db.tables import Run, Submission
from app.entries.board import leaderboard
from app.leaderboard.families import about, families_out
from app.leaderboard.plots import frontier_figure
from app.submissions.schemas import SubmissionIn
from app.submissions.service import create_submission
from app.users.service import get_or_create_user

SEED_NOISE = [-0.004, 0.0, 0.004]


def _resnet(n: int) -> dict[str, Any]:
    return {"family": "resnet", "layers": [n, n, n], "widths": [16, 32, 64], "stem": "cifar", "stem_width": 16}


def _plain(n: int) -> dict[str, Any]:
    return {"family": "plain", "stages": [{"depth": 2 * n, "width": w} for w in (16, 32, 64)]}


BOARD = [  # (name, spec, mean test accuracy): ResNets gain with depth, plain nets lose, one lone ViT
    *((f"resnet-{n}", _resnet(n), 0.85 + 0.03 * n) for n in (1, 2, 3, 4)),
    *((f"plain-{n}", _plain(n), 0.93 - 0.04 * n) for n in (1, 2, 3, 4)),
    ("vit", {"preset": "tiny_vit_digits", "overrides": {}}, 0.90),
]


@pytest.fixture
def crossing_board(sqlite_settings: Settings) -> None:
    with session_scope(sqlite_settings.database_url) as session:
        user = get_or_create_user(session, "crossing")
        for name, spec, mean in BOARD:
            sub = create_submission(session, user, SubmissionIn(name=name, spec=spec, seeds=3), max_epochs=2)
            for run, noise in zip(sub.runs, SEED_NOISE, strict=True):
                values = {"status": "finished", "test_acc": mean + noise, "train_acc": mean + noise}
                session.execute(update(Run).where(Run.id == run.id).values(**values))
            session.execute(update(Submission).where(Submission.id == sub.id).values(status="finished"))


def test_the_api_fits_each_family_and_says_where_they_separate(client: TestClient, crossing_board: None) -> None:
    out = client.get("/api/v1/benchmarks/digits/families").json()
    assert [f["group"] for f in out["fits"]] == ["plain", "resnet"]
    assert out["too_few"] == {"attention": "1 entry with results (at least 3 needed)"}
    resnet = next(f for f in out["fits"] if f["group"] == "resnet")
    assert resnet["slope_per_decade"] > 0 and resnet["n_entries"] == 4 and resnet["n_seeds"] == 12
    assert all(lo <= m <= hi for lo, m, hi in zip(resnet["low"], resnet["mean"], resnet["high"], strict=True))
    pair = out["pairs"][0]
    assert (pair["a"], pair["b"], pair["separated"]) == ("plain", "resnet", True)
    assert pair["segments"][-1]["better"] == "resnet"
    assert "resnet beats plain on Digits (8×8)" in pair["sentence"] and pair["sentence"] in out["summary"]
    print(out["summary"])
    by_family = client.get("/api/v1/benchmarks/digits/families", params={"by": "family", "x": "params"}).json()
    assert by_family["by"] == "family" and "metaformer" in by_family["too_few"]
    assert client.get("/api/v1/benchmarks/digits/families", params={"by": "stage"}).status_code == 422
    assert client.get("/api/v1/benchmarks/nope/families").status_code == 404


def test_the_page_shows_the_fits_and_the_sentence(client: TestClient, crossing_board: None) -> None:
    html = client.get("/benchmarks/digits").text
    assert 'id="crossing"' in html and "resnet beats plain" in html and 'id="crossing-too-few"' in html
    assert 'data-figure="crossing"' in html  # the chart's figure comes on demand
    figure = client.get("/benchmarks/digits/figures/crossing").json()
    assert sum(1 for t in figure["data"] if t.get("fill") == "tonexty") == 2  # a band per fitted group


def test_an_empty_board_says_it_has_too_few_entries(client: TestClient) -> None:
    out = client.get("/api/v1/benchmarks/digits/families").json()
    assert out["fits"] == [] and out["summary"].startswith("Too few entries to compare fits")


def test_about_rounds_to_two_significant_digits() -> None:
    assert [about(x) for x in (6.4771, 5.653, 9.08, 2.0)] == ["3 M", "450 k", "1.2 G", "100"]


def test_the_deploy_axis_uses_the_folded_cost(sqlite_settings: Settings) -> None:
    with session_scope(sqlite_settings.database_url) as session:
        user = get_or_create_user(session, "deploy")
        for preset in ("tiny_repmlp_digits", "tiny_resnet_digits"):
            body = SubmissionIn(name=preset, spec={"preset": preset}, seeds=3)
            sub = create_submission(session, user, body, max_epochs=2)
            for run, noise in zip(sub.runs, SEED_NOISE, strict=True):
                session.execute(update(Run).where(Run.id == run.id).values(status="finished", test_acc=0.9 + noise))
        entries = leaderboard(session, get_benchmark("digits"), 2)
    xs = {e.name: (e.macs, e.deploy_macs) for e in entries}
    figure = frontier_figure(entries, x="deploy")
    plotted = sorted(x for t in figure["data"] if t.get("customdata") for x in t["x"])
    repmlp_macs, repmlp_deploy = xs["tiny_repmlp_digits"]
    assert repmlp_deploy is not None and repmlp_deploy < repmlp_macs
    assert plotted == sorted([float(repmlp_deploy), float(xs["tiny_resnet_digits"][0])])
    assert "deploy time" in figure["layout"]["xaxis"]["title"]["text"]
    assert families_out(entries, "digits", "Digits", "v", x="deploy").x == "deploy"
