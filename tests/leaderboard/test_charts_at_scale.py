"""Charts that scale, on a seeded board: the whole cloud decimated to a cap with the count stated, the frontier and
each family's best always drawn, a filtered selection drawn exactly, one colour per family whatever is shown,
WebGL past a thousand points; an empty board says so instead of drawing axes; every column heading explains
itself."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.leaderboard import boards
from app.leaderboard.plots import GL_FROM
from app.main import create_app
from tests.leaderboard.seeding import seed_board


def points(figure: dict[str, Any]) -> list[list[Any]]:
    return [c for t in figure["data"] if t.get("customdata") for c in t["customdata"]]


@pytest.fixture
def seeded(sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    seed_board(sqlite_settings.database_url, 300, max_epochs=sqlite_settings.max_epochs)
    monkeypatch.setattr(boards, "CHART_CAP", 100)
    return TestClient(create_app(sqlite_settings))


def test_the_cloud_is_decimated_around_the_points_that_matter(seeded: TestClient) -> None:
    with seeded as client:
        entries = []
        for page in range(1, 4):
            entries += client.get(
                "/api/v1/benchmarks/digits/leaderboard", params={"per_page": 100, "page": page}
            ).json()["entries"]
        figure = client.get("/benchmarks/digits/figures/explorer").json()
        drawn = {c[6] for c in points(figure)}
        assert len(drawn) == 100 and figure["layout"]["meta"] == {"drawn": 100, "total": 300}
        assert "100 of 300 entries drawn" in figure["layout"]["title"]["text"]
        assert {e["id"] for e in entries if e["on_frontier"]} <= drawn
        for family in {e["family"] for e in entries}:
            best = max((e for e in entries if e["family"] == family), key=lambda e: e["test_acc_mean"])
            assert best["id"] in drawn
        resnets = {e["id"] for e in entries if e["family"] == "resnet"}
        chosen = client.get("/benchmarks/digits/figures/explorer", params={"family": "resnet"}).json()
        assert {c[6] for c in points(chosen)} == resnets  # the selection, exactly
        colour = {t["name"]: t["marker"]["color"] for t in figure["data"] if t.get("customdata")}
        only = {t["name"]: t["marker"]["color"] for t in chosen["data"] if t.get("customdata")}
        assert only["resnet"] == colour["resnet"]  # a family keeps its colour when shown alone
        assert len(set(colour.values())) == len(colour)
        for kind in ("test2", "timeline", "crossing"):
            res = client.get(f"/benchmarks/digits/figures/{kind}")
            assert res.status_code == 200 and len(points(res.json())) <= 100, kind


def test_many_points_are_drawn_with_webgl(seeded: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.leaderboard.plots.GL_FROM", 50)
    with seeded as client:
        figure = client.get("/benchmarks/digits/figures/explorer", params={"x": "params"}).json()
    kinds = {t["type"] for t in figure["data"] if t.get("customdata")}
    assert kinds == {"scattergl"} and GL_FROM == 1000


def test_an_empty_board_draws_no_axes_to_misread(client: TestClient) -> None:
    for kind in ("explorer", "test2", "timeline"):
        figure = client.get(f"/benchmarks/digits/figures/{kind}").json()
        layout = figure["layout"]
        assert [t for t in figure["data"] if t.get("customdata")] == []
        assert layout["xaxis"]["visible"] is False and layout["yaxis"] == {**layout["yaxis"], "range": [0, 1]}
        assert layout["annotations"][0]["text"].startswith("No ")


def test_every_column_heading_explains_itself(seeded: TestClient) -> None:
    with seeded as client:
        html = client.get("/benchmarks/digits").text
    head = re.search(r'<table id="leaderboard".*?</thead>', html, re.S)
    assert head is not None
    headings = re.findall(r"<th scope=\"col\"[^>]*>", head.group(0))
    assert len(headings) == 16 and all(re.search(r'title="[^"]{10,}"', h) for h in headings)
    assert 'id="pager"' in html and "page 1 of 6" in html  # 300 entries, 50 a page
