"""Page data through TestClient: the explorer's figures, the CSV export, compare, queue, submission extras."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from app.core.config import Settings
from app.core.db.session import session_scope
from app.core.db.tables import Run, Submission
from app.submissions.schemas import SubmissionIn
from app.submissions.service import create_submission
from app.users.service import get_or_create_user

RESULTS = {  # name → (preset, per-seed test accuracies, per-seed second-test accuracies)
    "=cmd|' /C calc'!A0": ("tiny_resnet_digits", [0.981, 0.984, 0.979], [0.95, 0.96, 0.955]),
    "<script>alert(1)</script>": ("tiny_vit_digits", [0.890, 0.897, 0.884], [0.86, 0.87, 0.865]),
    "mixer": ("tiny_mixer_digits", [0.893, 0.887, 0.899], [0.70, 0.71, 0.69]),
    "pool": ("tiny_poolformer_digits", [0.801, 0.815, 0.809], [0.78, 0.79, 0.785]),
}


@pytest.fixture
def board(sqlite_settings: Settings) -> dict[str, int]:
    ids = {}
    with session_scope(sqlite_settings.database_url) as session:
        user = get_or_create_user(session, "pages-test")
        for name, (preset, accs, accs2) in RESULTS.items():
            body = SubmissionIn(name=name, spec={"preset": preset, "overrides": {}}, seeds=len(accs))
            sub = create_submission(session, user, body, max_epochs=sqlite_settings.max_epochs)
            for run, acc, acc2 in zip(sub.runs, accs, accs2, strict=True):
                session.execute(
                    update(Run)
                    .where(Run.id == run.id)
                    .values(status="finished", test_acc=acc, test2_acc=acc2, train_acc=min(1.0, acc + 0.05))
                )
            session.execute(update(Submission).where(Submission.id == sub.id).values(status="finished"))
            ids[name] = sub.id
    return ids


def embedded(html: str, element_id: str) -> Any:
    match = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S)
    assert match, element_id
    return json.loads(match.group(1))


def explorer(client: TestClient, variant: str) -> Any:
    color, x, y = variant.split("|")
    res = client.get("/benchmarks/digits/figures/explorer", params={"color": color, "x": x, "y": y})
    assert res.status_code == 200, res.text
    return res.json()


def test_leaderboard_page_fetches_every_explorer_variant(client: TestClient, board: dict[str, int]) -> None:
    html = client.get("/benchmarks/digits").text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in re.sub(r"<script (src|type)=[^>]*>", "", html)  # no inline code, only data and files
    assert 'data-figure="explorer"' in html and "frontier-data" not in html  # figures come on demand
    variants = [
        f"{c}|{x}|{y}"
        for c in ("family", "mixer")
        for x in ("macs", "params", "deploy", "train_seconds")
        for y in ("test", "test2")
    ]
    figures = {"explorer": {v: explorer(client, v) for v in variants}}
    fig = figures["explorer"]["family|macs|test"]
    points = [c for t in fig["data"] if t.get("customdata") for c in t["customdata"]]
    assert sorted(c[6] for c in points) == sorted(board.values())
    labels = {t for tr in fig["data"] if tr.get("text") for t in tr["text"]}  # Plotly reads labels as HTML
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in labels and "<script>alert(1)</script>" not in labels
    assert {c[0] for c in points} == {f"/submissions/{i}" for i in board.values()}
    api = client.get("/api/v1/benchmarks/digits/leaderboard").json()
    front = next(t for t in fig["data"] if t.get("meta") == "frontier")
    frontier = sorted((e for e in api["entries"] if e["on_frontier"]), key=lambda e: e["macs"])
    assert front["x"] == [e["macs"] for e in frontier]
    by_params = figures["explorer"]["mixer|params|test2"]
    xs = sorted(x for t in by_params["data"] if t.get("customdata") for x in t["x"])
    assert xs == sorted(e["params"] for e in api["entries"])
    by_seconds = figures["explorer"]["family|train_seconds|test"]
    seconds = sorted(x for t in by_seconds["data"] if t.get("customdata") for x in t["x"])
    assert len(seconds) == len(board) and seconds == sorted(e["projected_run_seconds"] for e in api["entries"])
    assert "projected training seconds" in by_seconds["layout"]["xaxis"]["title"]["text"]


def test_second_test_chart_shows_robustness_against_the_no_drop_line(client: TestClient, board: dict[str, int]) -> None:
    html = client.get("/benchmarks/digits").text
    fig = client.get("/benchmarks/digits/figures/test2").json()
    api = client.get("/api/v1/benchmarks/digits/leaderboard").json()
    points = next(t for t in fig["data"] if t.get("name") == "entries")
    both = [e for e in api["entries"] if e["test_acc_mean"] is not None and e["test2_acc_mean"] is not None]
    assert sorted(points["x"]) == sorted(e["test_acc_mean"] for e in both)
    diagonal = next(t for t in fig["data"] if t.get("name") == "no drop")
    assert diagonal["x"] == diagonal["y"]
    assert all(e["robustness"].startswith("Robustness: on the perturbed digits") for e in both)
    assert "Tuning to the public test set is measured on the private test split" in html


def test_server_side_filters_leave_other_rows_out(client: TestClient, board: dict[str, int]) -> None:
    html = client.get("/benchmarks/digits", params={"family": "resnet"}).text
    shown = set(map(int, re.findall(r'<tbody class="entry" data-id="(\d+)"', html)))
    assert shown == {board["=cmd|' /C calc'!A0"]}
    searched = client.get("/benchmarks/digits", params={"q": "POOL"}).text
    assert set(map(int, re.findall(r'<tbody class="entry" data-id="(\d+)"', searched))) == {board["pool"]}
    by_params = client.get("/benchmarks/digits", params={"sort": "params", "dir": "asc"}).text
    order = [int(i) for i in re.findall(r'<tbody class="entry" data-id="(\d+)"', by_params)]
    api = client.get("/api/v1/benchmarks/digits/leaderboard", params={"sort": "params", "dir": "asc"}).json()
    assert order == [e["id"] for e in api["entries"]] and len(order) == len(board)
    assert [e["params"] for e in api["entries"]] == sorted(e["params"] for e in api["entries"])


def test_csv_export_matches_the_api_and_defuses_formulas(client: TestClient, board: dict[str, int]) -> None:
    res = client.get("/benchmarks/digits.csv")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(res.text)))
    api = client.get("/api/v1/benchmarks/digits/leaderboard").json()["entries"]
    assert [int(r["id"]) for r in rows] == [e["id"] for e in api]
    for row, e in zip(rows, api, strict=True):
        assert float(row["test_acc_mean"]) == pytest.approx(e["test_acc_mean"])
        assert int(row["macs"]) == e["macs"] and row["rank"] == str(e["rank"])
    assert "'=cmd|' /C calc'!A0" in {r["name"] for r in rows}
    only = list(csv.DictReader(io.StringIO(client.get("/benchmarks/digits.csv?family=resnet").text)))
    assert [r["family"] for r in only] == ["resnet"]
    redirect = client.get("/benchmarks/digits?format=csv", follow_redirects=False)
    assert redirect.status_code == 307 and redirect.headers["location"].endswith("/benchmarks/digits.csv")
    assert client.get("/benchmarks/nope.csv").status_code == 404


def test_compare_api_and_page(client: TestClient, board: dict[str, int]) -> None:
    a, b = board["=cmd|' /C calc'!A0"], board["pool"]
    body = client.get("/api/v1/compare", params={"ids": f"{a},{b}"}).json()
    assert [s["id"] for s in body["submissions"]] == [a, b]
    (pair,) = body["pairs"]
    assert pair["p_a_beats_b"] > 0.9 and pair["ci"][0] < pair["p_a_beats_b"] <= pair["ci"][1] <= 1.0
    assert pair["ci"][0] < 1.0 and pair["diff_mean"] > 0.15  # a few seeds never make it certain
    assert any(
        d["key"] == "preset" or d["key"].startswith(("stages", "mixer", "family", "block")) for d in body["spec_diff"]
    )
    assert client.get("/api/v1/compare", params={"ids": str(a)}).status_code == 422
    x = board["<script>alert(1)</script>"]
    diff = {d["key"]: d for d in client.get("/api/v1/compare", params={"ids": f"{a},{x}"}).json()["spec_diff"]}
    assert all(len(d["values"]) == len(d["present"]) == 2 for d in diff.values())
    assert diff["family"]["values"] == ["resnet", "metaformer"] and diff["family"]["present"] == [True, True]
    assert client.get("/api/v1/compare", params={"ids": f"{a},999999"}).status_code == 404
    page = client.get("/compare", params=[("ids", str(a)), ("ids", str(b))])
    assert page.status_code == 200 and "P(A &gt; B)" in page.text
    assert 'id="compare-curves-empty"' in page.text and 'id="compare-figure"' not in page.text  # no epochs here
    assert client.get("/compare?ids=1").status_code == 400


def test_queue_page_lists_runs_newest_first(client: TestClient, board: dict[str, int]) -> None:
    html = client.get("/queue").text
    run_ids = [int(i) for i in re.findall(r'<tr><td class="num">(\d+)</td>', html)]
    assert len(run_ids) == 12 and run_ids == sorted(run_ids, reverse=True)
    assert "&lt;script&gt;" in html
    assert client.get("/queue?status=queued").text.count('<tr><td class="num">') == 0
    assert client.get("/queue?status=bogus").status_code == 422


def test_submission_page_offers_curl_resubmit_and_compare(client: TestClient, board: dict[str, int]) -> None:
    sid = board["<script>alert(1)</script>"]
    html = client.get(f"/submissions/{sid}").text
    assert "curl -X POST http://testserver/api/v1/submissions" in html
    assert f'href="/submit?from={sid}"' in html and 'id="compare-other"' in html
    form = client.get(f"/submit?from={sid}").text
    assert "tiny_vit_digits" not in form or "&#34;family&#34;" in form  # the canonical spec, escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt; (changed)" in form
    assert client.get("/submit?from=999999").status_code == 404


def test_submit_form_offers_family_fields_from_the_spec_schema(client: TestClient) -> None:
    forms = embedded(client.get("/submit").text, "family-forms")
    assert {"resnet", "metaformer", "convmixer"} <= set(forms)
    resnet = {f["path"]: f for f in forms["resnet"]["fields"]}
    assert resnet["stem_width"]["type"] == "int" and resnet["stem_width"]["max"] == 2048
    assert resnet["block"]["choices"] == ["basic", "bottleneck"] and resnet["layers"]["type"] == "list"
    for family, form in forms.items():  # every starting spec passes validation (limits aside)
        res = client.post("/api/v1/specs/validate", json={"benchmark": "digits", "spec": form["example"]})
        assert res.status_code in (200, 422), family
        assert res.status_code == 200 or all(e["type"] == "limit" for e in res.json()["detail"]), res.json()
