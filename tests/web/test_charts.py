"""The entry and compare charts: an empty state instead of axes with made-up ranges, fixed ranges (accuracy
0–100 %, the epochs trained), hover saying the same interval the band shows, and colours that follow the family
(the token mixer for MetaFormers) on every page."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.core.config import Settings
from app.web.figures import KIND_COLORS, PALETTE, kind_color
from tests.moderation.test_moderation import submit
from tests.studies.test_plain_words import _study
from tests.submissions.test_api import token_for
from tests.web.test_pages import embedded


def test_colours_follow_the_kind() -> None:
    assert kind_color("metaformer", "attention") == KIND_COLORS["attention"] != kind_color("metaformer", "pooling")
    assert kind_color("resnet", None) == KIND_COLORS["resnet"]
    assert kind_color("newfamily") == kind_color("newfamily") in PALETTE  # unknown kinds: fixed by their name
    assert len(set(KIND_COLORS.values())) == len(KIND_COLORS)


def test_a_queued_entry_shows_an_empty_state(client: TestClient, sqlite_settings: Settings) -> None:
    sid = submit(client, token_for(sqlite_settings, "q"))
    page = client.get(f"/submissions/{sid}").text
    assert '<p class="empty-chart" id="curves-empty">No epochs yet: this entry is waiting in the queue.' in page
    assert 'id="curves" class="chart"' in page and 'data-color="' in page and "hidden></div>" in page


def test_the_compare_figure_has_fixed_ranges_matching_hover_and_kind_colours(
    client: TestClient, sqlite_settings: Settings
) -> None:
    _, ids = _study(sqlite_settings)
    page = client.get("/compare", params=[("ids", str(ids["attention"])), ("ids", str(ids["identity"]))]).text
    figure = embedded(page, "compare-figure")
    layout = figure["layout"]
    assert layout["yaxis"]["range"] == [0, 1.02] and layout["xaxis"]["range"] == [0.5, 2.5]
    bands, lines = figure["data"][0::2], figure["data"][1::2]
    assert [t["line"]["color"] for t in lines] == [KIND_COLORS["attention"], KIND_COLORS["identity"]]
    assert all(b["fillcolor"] == line["line"]["color"] for b, line in zip(bands, lines, strict=True))
    line = lines[0]
    assert "± %{customdata[2]:.2%} (std over %{customdata[3]} seeds)" in line["hovertemplate"]
    upper = bands[0]["y"][: len(line["x"])]
    assert [round(m + c[2], 9) for m, c in zip(line["y"], line["customdata"], strict=True)] == [
        round(u, 9) for u in upper
    ]  # the hover's ± is the band's half-width


def test_study_curves_use_the_kind_colours_and_a_fixed_range(client: TestClient, sqlite_settings: Settings) -> None:
    study_id, _ = _study(sqlite_settings)
    figure = embedded(client.get(f"/studies/{study_id}").text, "study-curves-figure")
    assert [t["line"]["color"] for t in figure["data"]] == [KIND_COLORS["attention"], KIND_COLORS["identity"]]
    assert figure["layout"]["yaxis"]["range"] == [0, 1.02] and figure["layout"]["legend"]["yanchor"] == "top"
