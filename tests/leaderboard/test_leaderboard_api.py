"""The leaderboard JSON against an independent recomputation from the per-seed numbers it returns."""

from __future__ import annotations

import statistics

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from app.core.config import Settings
from app.core.db.session import session_scope
from app.core.db.tables import Run
from app.submissions.schemas import SubmissionIn
from app.submissions.service import create_submission
from app.users.service import get_or_create_user
from tests.leaderboard.recompute import recompute

RESULTS = {  # preset → per-seed test accuracies (seeds 0, 1, 2)
    "tiny_resnet_digits": [0.981, 0.984, 0.979],
    "tiny_vit_digits": [0.890, 0.897, 0.884],
    "tiny_mixer_digits": [0.893, 0.887, 0.899],  # same level as the ViT: must share its rank
    "tiny_poolformer_digits": [0.801, 0.815, 0.809],
}


@pytest.fixture
def finished_board(sqlite_settings: Settings) -> dict[str, int]:
    ids = {}
    with session_scope(sqlite_settings.database_url) as session:
        user = get_or_create_user(session, "stats-test")
        for preset, accs in RESULTS.items():
            body = SubmissionIn(name=preset, spec={"preset": preset, "overrides": {}}, seeds=len(accs))
            submission = create_submission(session, user, body, max_epochs=sqlite_settings.max_epochs)
            for run, acc in zip(submission.runs, accs, strict=True):
                session.execute(
                    update(Run)
                    .where(Run.id == run.id)
                    .values(status="finished", test_acc=acc, train_acc=min(1.0, acc + 0.05), val_acc=acc)
                )
            session.execute(
                update(type(submission)).where(type(submission).id == submission.id).values(status="finished")
            )
            ids[preset] = submission.id
    return ids


def test_means_intervals_ranks_and_frontier_match_a_recomputation(
    client: TestClient, finished_board: dict[str, int]
) -> None:
    board = client.get("/api/v1/benchmarks/digits/leaderboard").json()
    entries = {e["name"]: e for e in board["entries"]}
    assert set(entries) == set(RESULTS)
    expected = recompute(board)
    for preset, accs in RESULTS.items():
        e = entries[preset]
        assert e["test_accs"] == accs and e["n"] == 3 and e["rank_status"] == "ranked"
        mean, std = statistics.fmean(accs), statistics.stdev(accs)
        assert e["test_acc_mean"] == pytest.approx(mean) and e["test_acc_std"] == pytest.approx(std)
        mine = expected[e["id"]]
        assert e["test_acc_ci"] == pytest.approx(list(mine["interval"]), abs=1e-9)
        assert 0.0 <= e["test_acc_ci"][0] < mean < e["test_acc_ci"][1] <= 1.0
        assert (e["rank"], e["rank_high"]) == (mine["rank"], mine["rank_high"])
        assert e["gap"] == pytest.approx(statistics.fmean(min(1.0, a + 0.05) for a in accs) - mean)
        assert e["notes"] and all(isinstance(n, str) and n.endswith(".") for n in e["notes"])
    assert board["noise"]["status"] == "default"  # no platform reference entries on this board: nobody set it
    assert "test-set sampling" in board["covers"]

    order = [e["name"] for e in board["entries"]]
    assert order == sorted(RESULTS, key=lambda p: -statistics.fmean(RESULTS[p]))
    ranks = {e["name"]: e["rank"] for e in board["entries"]}
    assert ranks["tiny_resnet_digits"] == 1
    assert ranks["tiny_vit_digits"] == ranks["tiny_mixer_digits"]  # inside each other's interval
    assert ranks["tiny_poolformer_digits"] > ranks["tiny_vit_digits"]

    # Frontier by brute force: nothing at most as expensive is at least as accurate and strictly better somewhere.
    def dominated(a: dict[str, float]) -> bool:
        return any(
            b is not a
            and b["macs"] <= a["macs"]
            and b["test_acc_mean"] >= a["test_acc_mean"]
            and (b["macs"] < a["macs"] or b["test_acc_mean"] > a["test_acc_mean"])
            for b in board["entries"]
        )

    expected = {e["id"] for e in board["entries"] if not dominated(e)}
    frontier = client.get("/api/v1/benchmarks/digits/frontier").json()
    assert {p["id"] for p in frontier["points"]} == expected == {e["id"] for e in board["entries"] if e["on_frontier"]}


def test_leaderboard_page_shows_entries_and_chart(client: TestClient, finished_board: dict[str, int]) -> None:
    page = client.get("/benchmarks/digits")
    assert page.status_code == 200
    for preset in RESULTS:
        assert preset in page.text
    assert 'data-figure="explorer"' in page.text and 'id="board-updated"' in page.text
    figure = client.get("/benchmarks/digits/figures/explorer").json()
    assert any(t.get("name") == "Pareto frontier" for t in figure["data"])
    home = client.get("/")
    assert home.status_code == 200 and "How scoring works" in home.text and "/benchmarks/digits" in home.text
    assert "noise reference" in client.get("/how").text
    assert client.get("/benchmarks/nope").status_code == 404
    assert client.get("/vendor/plotly.min.js").headers["content-type"].startswith("text/javascript")


def test_shape_bias_on_the_cue_conflict_benchmark(client: TestClient, sqlite_settings: Settings) -> None:
    shape_accs, texture_accs = [0.60, 0.70], [0.20, 0.10]
    with session_scope(sqlite_settings.database_url) as session:
        user = get_or_create_user(session, "bias-test")
        body = SubmissionIn(
            benchmark="shapes", name="cnn", spec={"preset": "tiny_resnet_synth", "overrides": {}}, seeds=2
        )
        submission = create_submission(session, user, body, max_epochs=sqlite_settings.max_epochs)
        for run, shape, texture in zip(submission.runs, shape_accs, texture_accs, strict=True):
            values = {"status": "finished", "test_acc": 0.9, "test2_acc": shape, "test2_texture_acc": texture}
            session.execute(update(Run).where(Run.id == run.id).values(**values))
    entry = client.get("/api/v1/benchmarks/shapes/leaderboard").json()["entries"][0]
    expected = statistics.fmean(s / (s + t) for s, t in zip(shape_accs, texture_accs, strict=True))
    assert entry["shape_bias"] == pytest.approx(expected)
    assert any("shape bias" in note for note in entry["notes"])
    run = client.get(f"/api/v1/submissions/{entry['id']}").json()["runs"][0]
    assert run["test2_texture_acc"] == pytest.approx(0.20)
