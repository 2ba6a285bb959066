"""Studies: expansion, equal-compute matching, verdicts from synthetic finished seeds, API and page."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app.core.config import Settings
from app.core.db.session import session_scope
from app.core.db.tables import Run, Submission
from app.studies.canonical import seed_studies
from app.studies.plan import MATCH_TOLERANCE, VariantPlan, plan_study
from app.studies.schemas import StudyIn
from app.studies.service import create_study
from app.studies.views import study_view
from app.users.service import create_token, get_or_create_user
from app.zoo.measure import measure
from app.zoo.spec import parse_spec
from tests.conftest import freeze_reference

BASE = {"preset": "tiny_vit_digits", "overrides": {}}


def _without(spec: dict[str, Any], key: str) -> dict[str, Any]:
    out = copy.deepcopy(spec)
    for stage in out["stages"]:
        stage.pop(key)
    return out


def test_expansion_shares_everything_but_the_axis() -> None:
    body = StudyIn(name="d", base_spec=BASE, axis="depth", values=[1, 2, 3])
    _, base, plans = plan_study(body)
    assert [p.label for p in plans] == ["1", "2", "3"]
    for plan, depth in zip(plans, [1, 2, 3], strict=True):
        assert plan.spec is not None
        assert [s["depth"] for s in plan.spec["stages"]] == [depth]
        assert _without(plan.spec, "depth") == _without(base, "depth")


@pytest.fixture(scope="module")
def matched() -> tuple[dict[str, Any], list[VariantPlan]]:
    values: list[int | str | dict[str, Any]] = [
        {"kind": "attention", "heads": 4},
        {"kind": "spatial_mlp", "hidden_ratio": 0.5},
        "pooling",  # shorthand for {"kind": "pooling"}
        {"kind": "window_attention", "heads": 4, "window": 2},
    ]
    body = StudyIn(name="m", base_spec=BASE, axis="mixer", values=values, match="macs")
    _, base, plans = plan_study(body)
    return base, plans


def test_mixer_variants_differ_only_in_mixer_and_width(matched: tuple[dict[str, Any], list[VariantPlan]]) -> None:
    base, plans = matched
    for plan in plans:
        if plan.spec is None:
            continue
        kind = plan.value if isinstance(plan.value, str) else plan.value["kind"]
        assert {s["mixer"]["kind"] for s in plan.spec["stages"]} == {kind}
        same = _without(_without(plan.spec, "mixer"), "width")
        assert same == _without(_without(base, "mixer"), "width")


def test_macs_matching_within_tolerance_and_unmatched_reported(
    matched: tuple[dict[str, Any], list[VariantPlan]],
) -> None:
    base, plans = matched
    digits = (1, 8, 8), 10
    base_macs = measure(parse_spec(base), *digits).macs
    by_kind = {p.label.split("(")[0]: p for p in plans}
    for kind in ("attention", "spatial_mlp", "pooling"):
        plan = by_kind[kind]
        assert plan.spec is not None and plan.reason is None and plan.macs is not None
        assert abs(plan.macs / base_macs - 1) <= MATCH_TOLERANCE
        assert plan.macs == measure(parse_spec(plan.spec), *digits).macs
    assert by_kind["attention"].adjustment == "none needed (width 48)"
    assert by_kind["pooling"].adjustment == f"width 48 → {by_kind['pooling'].width}" and by_kind["pooling"].width != 48
    unmatched = by_kind["window_attention"]
    assert unmatched.spec is None and unmatched.reason is not None
    assert "outside ±5%" in unmatched.reason


# ---------------------------------------------------------------- verdicts from synthetic finished seeds

ACCS = {  # depth value → per-seed test accuracies (seeds 0..3); δ is 2 points (2 σ of the frozen reference)
    1: [0.800, 0.810, 0.802, 0.808],
    2: [0.804, 0.806, 0.801, 0.809],  # same level as depth 1: equivalent
    3: [0.985, 0.990, 0.988, 0.992],  # clearly better than everything
    4: [0.790, 0.870, 0.810, 0.850],  # 3 points above 1 but noisy: inconclusive against 1
}


def _finish(session: Any, submission: Submission, accs: list[float]) -> None:
    for run, acc in zip(sorted(submission.runs, key=lambda r: r.seed), accs, strict=True):
        session.execute(update(Run).where(Run.id == run.id).values(status="finished", test_acc=acc, train_acc=acc))
    session.execute(update(Submission).where(Submission.id == submission.id).values(status="finished"))


@pytest.fixture
def finished_study(sqlite_settings: Settings) -> int:
    freeze_reference(sqlite_settings)
    with session_scope(sqlite_settings.database_url) as session:
        user = get_or_create_user(session, "study-test")
        body = StudyIn(name="Depth", base_spec=BASE, axis="depth", values=list(ACCS), seeds=4)
        study = create_study(session, user, body, max_epochs=sqlite_settings.max_epochs)
        subs = {p["label"]: p["submission_id"] for p in study.variants}
        for depth, accs in ACCS.items():
            sub = session.get(Submission, subs[str(depth)])
            assert sub is not None
            session.refresh(sub, ["runs"])
            _finish(session, sub, accs)
        return study.id


def test_verdict_grid_from_synthetic_results(sqlite_settings: Settings, finished_study: int) -> None:
    with session_scope(sqlite_settings.database_url) as session:
        view = study_view(session, finished_study, max_epochs=sqlite_settings.max_epochs)
    kinds = {(v.a, v.b): v.kind for v in view.out.verdicts}
    assert kinds[("1", "2")] == "equivalent"
    assert kinds[("1", "3")] == "b_better" and kinds[("2", "3")] == "b_better" and kinds[("3", "4")] == "a_better"
    assert kinds[("1", "4")] == "inconclusive"
    inconclusive = next(v for v in view.out.verdicts if v.kind == "inconclusive")
    assert "seeds per variant would decide" in inconclusive.text
    assert view.out.delta >= 0.01
    grid = view.grids[0]["rows"]
    assert isinstance(grid, list) and len(view.grids) == 1
    assert grid[0][0]["css"] == "v-self"
    assert grid[0][2]["css"] == "v-worse" and grid[2][0]["css"] == "v-better"
    assert grid[0][1]["css"] == grid[1][0]["css"] == "v-equivalent"
    assert view.out.summary.startswith("Does the depth matter on digits? Yes: 3 > ")
    assert view.out.looks == 1 and view.out.alpha == 0.025
    assert any("Look 1 of at most 3" in n for n in view.out.notes)


def test_page_renders_the_grid(client: TestClient, finished_study: int) -> None:
    page = client.get(f"/studies/{finished_study}")
    assert page.status_code == 200
    html = page.text
    assert 'id="verdict-grid"' in html and 'class="v-equivalent"' in html and 'class="v-better"' in html
    assert 'id="study-figure"' in html and "Look 1 of at most 3" in html and "<script>" not in html
    listing = client.get("/studies")
    assert listing.status_code == 200 and f"/studies/{finished_study}" in listing.text
    api = client.get(f"/api/v1/studies/{finished_study}").json()
    assert len(api["variant_list"]) == 4 and len(api["verdicts"]) == 6 and api["delta"] >= 0.01
    assert client.get("/api/v1/studies").json()[0]["id"] == finished_study
    assert client.get("/api/v1/studies/999999").status_code == 404


# ---------------------------------------------------------------- API


def test_post_needs_a_token(client: TestClient) -> None:
    body = {"name": "x", "base_spec": BASE, "axis": "depth", "values": [1, 2]}
    assert client.post("/api/v1/studies", json=body).status_code == 401


def test_post_names_the_bad_variant_and_creates_the_good_study(client: TestClient, sqlite_settings: Settings) -> None:
    with session_scope(sqlite_settings.database_url) as session:
        get_or_create_user(session, "poster")
        headers = {"Authorization": f"Bearer {create_token(session, 'poster')}"}
    bad = {"name": "W", "base_spec": BASE, "axis": "width", "values": [48, 2000]}
    res = client.post("/api/v1/studies", json=bad, headers=headers)
    assert res.status_code == 422
    error = res.json()["detail"][0]
    assert error["loc"][:3] == ["body", "values", 1] and "variant 'W · width=2000'" in error["msg"]
    good = {"name": "W", "base_spec": BASE, "axis": "width", "values": [32, 48], "seeds": 2}
    res = client.post("/api/v1/studies", json=good, headers=headers)
    assert res.status_code == 201, res.text
    out = res.json()
    assert [v["name"] for v in out["variant_list"]] == ["W · width=32", "W · width=48"]
    assert out["status"] == "queued" and "Not decided yet" in out["summary"]
    board = client.get("/api/v1/submissions?user=poster").json()
    assert {s["name"] for s in board} == {"W · width=32", "W · width=48"}


def test_seed_studies_creates_the_canonical_studies_once(sqlite_settings: Settings) -> None:
    t0 = time.perf_counter()
    with session_scope(sqlite_settings.database_url) as session:
        created = seed_studies(session, sqlite_settings.max_epochs)
        seconds = time.perf_counter() - t0
        by_bench = {(s.benchmark, s.axis): s for s in created if s.axis != "depth"}
        assert set(by_bench) == {
            ("digits", "mixer"), ("pathfinder", "mixer"), ("shapes", "mixer"), ("digits", "train_fraction"),
            ("fashion_mnist", "mixer"), ("fashion_mnist", "train_fraction"),
        }  # fmt: skip
        depth = [s for s in created if s.axis == "depth"]
        assert [(s.benchmark, len(s.variants), s.seeds) for s in depth] == [("digits", 8, 5), ("digits", 3, 3)]
        assert all(v["submission_id"] and v["macs"] for s in depth for v in s.variants)
        for bench in ("digits", "fashion_mnist", "pathfinder", "shapes"):
            study = by_bench[(bench, "mixer")]
            assert study.match == "macs"
            labels = [v["label"].split("(")[0] for v in study.variants]
            assert labels == ["attention", "spatial_mlp", "dwconv", "pooling", "identity"]
            assert all(v["submission_id"] and v["reason"] is None for v in study.variants), study.variants
            macs = [v["macs"] for v in study.variants]
            assert max(macs) / min(macs) < (1 + MATCH_TOLERANCE) / (1 - MATCH_TOLERANCE)
        fractions = by_bench[("digits", "train_fraction")]
        assert [v["label"].split("(")[0] + v["label"].rsplit(" @ ", 1)[1] for v in fractions.variants] == [
            f"{m}{f}" for m in ("attention", "dwconv", "spatial_mlp") for f in ("10%", "30%", "100%")
        ]
        assert all(v["submission_id"] for v in fractions.variants)
        subs = session.scalars(select(Submission).where(Submission.study_id == fractions.id)).all()
        assert sorted({(s.train_fraction, s.recipe_version.rsplit("+", 1)[-1]) for s in subs}, key=str) == sorted(
            {(0.1, "train10%"), (0.3, "train30%"), (None, "epochs2")}, key=str
        )
        assert seed_studies(session, sqlite_settings.max_epochs) == []
    print(f"seed_studies: {len(created)} studies in {seconds:.2f} s")
