"""The norm and training-fraction axes (with series), adding seeds with the looks rule, the study quota,
creating a study from the submit page, and the page's extra charts."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app.core.config import Settings
from app.core.db.session import session_scope
from app.core.db.tables import EpochMetric, Run, Study, Submission, User
from app.core.errors import InputError
from app.quotas import service as quotas
from app.studies.plan import plan_study
from app.studies.plots import study_figures
from app.studies.schemas import StudyIn
from app.studies.service import create_study
from app.studies.views import study_view
from app.users.service import create_token, get_or_create_user
from tests.accounts.test_accounts import csrf, sign_up
from tests.conftest import freeze_reference

BASE = {"preset": "tiny_vit_digits", "overrides": {}}


def test_norm_axis_changes_only_the_norm() -> None:
    _, base, plans = plan_study(StudyIn(name="n", base_spec=BASE, axis="norm", values=["layernorm", "batchnorm"]))
    assert [p.spec["norm"] for p in plans if p.spec] == ["layernorm", "batchnorm"]
    assert all({**(p.spec or {}), "norm": base["norm"]} == base for p in plans)
    with pytest.raises(InputError) as exc:
        plan_study(StudyIn(name="n", base_spec=BASE, axis="norm", values=["layernorm", "rmsnorm"]))
    error = exc.value.errors[0]
    assert error["loc"][:3] == ["body", "values", 1] and "layernorm, batchnorm, groupnorm" in error["msg"]


def test_fraction_axis_expands_series_times_fractions() -> None:
    body = StudyIn(
        name="f", base_spec=BASE, axis="train_fraction", values=[0.1, 1], series=["attention", "pooling"], match="macs"
    )
    _, _, plans = plan_study(body)
    assert [(p.series, p.train_fraction) for p in plans] == [
        ("attention", 0.1), ("attention", None), ("pooling", 0.1), ("pooling", None)
    ]  # fmt: skip
    assert plans[0].label == "attention @ 10%" and plans[0].spec == plans[1].spec
    assert plans[2].adjustment is not None and plans[2].adjustment.startswith("width 48 → ")


@pytest.mark.parametrize(
    ("changes", "loc", "words"),
    [
        ({"values": [0.1, 1.5]}, ["body", "values", 1], "[0.01, 1]"),
        ({"values": [0.1, 0.1]}, ["body", "values", 1], "appears twice"),
        ({"axis": "depth", "values": [1, 2]}, ["body", "series"], "only for the train_fraction axis"),
        ({"series": None, "match": "macs"}, ["body", "match"], "only for the mixer axis"),
    ],
)
def test_fraction_axis_422s_name_what_is_allowed(changes: dict[str, Any], loc: list[Any], words: str) -> None:
    fields: dict[str, Any] = {"name": "f", "base_spec": BASE, "axis": "train_fraction", "values": [0.1, 1]}
    fields["series"] = ["attention", "dwconv"]
    with pytest.raises(InputError) as exc:
        plan_study(StudyIn(**{**fields, **changes}))
    error = exc.value.errors[0]
    assert error["loc"][: len(loc)] == loc and words in error["msg"], error


# ---------------------------------------------------------------- finished studies from synthetic results


def _finish(session: Any, sub_id: int, accs: list[float], *, test2: bool = False) -> None:
    runs = session.scalars(select(Run).where(Run.submission_id == sub_id, Run.status == "queued").order_by(Run.seed))
    for run, acc in zip(list(runs), accs, strict=True):
        values = {"status": "finished", "test_acc": acc, "train_acc": acc, "images_per_second": 1000.0}
        session.execute(update(Run).where(Run.id == run.id).values(**values))
        for epoch in (1, 2):
            session.add(
                EpochMetric(
                    run_id=run.id, epoch=epoch, train_loss=1.0, train_acc=acc, val_loss=1.0, val_acc=acc * epoch / 2,
                    lr=0.1, elapsed_s=1.0,
                )
            )  # fmt: skip
    session.execute(update(Submission).where(Submission.id == sub_id).values(status="finished"))


def _headers(settings: Settings, name: str, *, admin: bool = False) -> dict[str, str]:
    with session_scope(settings.database_url) as session:
        get_or_create_user(session, name, is_admin=admin)
        return {"Authorization": f"Bearer {create_token(session, name)}"}


def test_fraction_study_has_a_grid_per_fraction_and_a_fraction_chart(
    client: TestClient, sqlite_settings: Settings
) -> None:
    body = StudyIn(name="F", base_spec=BASE, axis="train_fraction", values=[0.3, 1], series=["pooling", "identity"])
    accs = {"pooling @ 30%": [0.80, 0.81, 0.80], "identity @ 30%": [0.70, 0.71, 0.70]}
    accs |= {"pooling @ 100%": [0.900, 0.901, 0.900], "identity @ 100%": [0.900, 0.900, 0.901]}
    with session_scope(sqlite_settings.database_url) as session:
        study = create_study(session, get_or_create_user(session, "fr"), body, max_epochs=2)
        for plan in study.variants:
            _finish(session, plan["submission_id"], accs[plan["label"]])
        study_id = study.id
    with session_scope(sqlite_settings.database_url) as session:
        view = study_view(session, study_id, max_epochs=2)
    assert [g["title"] for g in view.grids] == ["at 30% of the training set", "at 100% of the training set"]
    kinds = {(v.group, v.a, v.b): v.kind for v in view.out.verdicts}
    assert kinds == {("30%", "pooling", "identity"): "a_better", ("100%", "pooling", "identity"): "equivalent"}
    assert view.out.series == ["pooling", "identity"]
    assert "With 30% of the training set: Yes: pooling > identity." in view.out.summary
    figures = study_figures(view.out.variant_list, "train_fraction")
    lines = figures["study-fraction-figure"]["data"]
    assert [t["name"] for t in lines] == ["pooling", "identity"] and lines[0]["x"] == [0.3, 1.0]
    assert len(figures["study-curves-figure"]["data"]) == 4
    assert view.out.variant_list[0].val_acc_curve == pytest.approx([0.40167, 0.80333], abs=1e-4)
    page = client.get(f"/studies/{study_id}").text
    assert 'id="study-fraction-figure"' in page and 'id="verdict-grid-2"' in page and "images/s" in page


# ---------------------------------------------------------------- adding seeds


@pytest.fixture
def inconclusive(sqlite_settings: Settings) -> int:
    freeze_reference(sqlite_settings)
    with session_scope(sqlite_settings.database_url) as session:
        owner = get_or_create_user(session, "owner")
        body = StudyIn(name="Depth", base_spec=BASE, axis="depth", values=[1, 2], seeds=3)
        study = create_study(session, owner, body, max_epochs=2)
        noisy = {"1": [0.78, 0.93, 0.86], "2": [0.90, 0.77, 0.95]}  # too noisy for a verdict at 3 seeds
        for plan in study.variants:
            _finish(session, plan["submission_id"], noisy[plan["label"]])
        return study.id


def test_add_seeds_is_a_new_look_with_a_smaller_alpha(
    client: TestClient, sqlite_settings: Settings, inconclusive: int
) -> None:
    url = f"/api/v1/studies/{inconclusive}"
    before = client.get(url).json()
    assert before["verdicts"][0]["kind"] == "inconclusive" and before["can_add_seeds"] and before["alpha"] == 0.025
    owner, other = _headers(sqlite_settings, "owner"), _headers(sqlite_settings, "other")
    assert client.post(f"{url}/seeds", json={"seeds": 2}).status_code == 401
    assert client.post(f"{url}/seeds", json={"seeds": 2}, headers=other).status_code == 403
    too_many = client.post(f"{url}/seeds", json={"seeds": 8}, headers=owner)
    assert too_many.status_code == 422 and "maximum of 10" in too_many.json()["detail"][0]["msg"]
    assert client.post(f"{url}/seeds", json={"seeds": "2"}, headers=owner).status_code == 422  # strict
    res = client.post(f"{url}/seeds", json={"seeds": 2}, headers=owner)
    assert res.status_code == 200, res.text
    out = res.json()
    assert (out["looks"], out["seeds"], out["alpha"], out["status"]) == (2, 5, 0.0125, "queued")
    assert [v["kind"] for v in out["verdicts"]] == ["pending"] and not out["can_add_seeds"]
    assert "not done yet" in client.post(f"{url}/seeds", json={"seeds": 1}, headers=owner).json()["detail"][0]["msg"]
    with session_scope(sqlite_settings.database_url) as session:
        study = session.get(Study, inconclusive)
        assert study is not None
        for plan in study.variants:
            seeds = session.scalars(select(Run.seed).where(Run.submission_id == plan["submission_id"])).all()
            assert sorted(seeds) == [0, 1, 2, 3, 4]
            _finish(session, plan["submission_id"], {"1": [0.96, 0.97], "2": [0.86, 0.88]}[plan["label"]])
    assert client.get(url).json()["verdicts"][0]["kind"] == "inconclusive"
    admin = _headers(sqlite_settings, "boss", admin=True)
    res = client.post(f"{url}/seeds", json={"seeds": 2}, headers=admin)  # look 3, by an admin
    assert res.status_code == 200, res.text
    with session_scope(sqlite_settings.database_url) as session:
        study = session.get(Study, inconclusive)
        assert study is not None and study.looks == 3
        for plan in study.variants:
            _finish(session, plan["submission_id"], [0.93, 0.90])
    last = client.get(url).json()
    assert last["alpha"] == 0.0125 and not last["can_add_seeds"] and "3 looks" in last["add_seeds_blocked"]
    fourth = client.post(f"{url}/seeds", json={"seeds": 1}, headers=owner)
    assert fourth.status_code == 422 and "has had its 3 looks" in fourth.json()["detail"][0]["msg"]


def test_the_page_offers_the_seeds_form_to_the_owner(client: TestClient, sqlite_settings: Settings) -> None:
    sign_up(client, "pageowner")
    freeze_reference(sqlite_settings)
    with session_scope(sqlite_settings.database_url) as session:
        owner = get_or_create_user(session, "pageowner")
        body = StudyIn(name="D", base_spec=BASE, axis="depth", values=[1, 2], seeds=3)
        study = create_study(session, owner, body, max_epochs=2)
        for plan in study.variants:
            _finish(session, plan["submission_id"], {"1": [0.78, 0.93, 0.86], "2": [0.90, 0.77, 0.95]}[plan["label"]])
        study_id = study.id
    page = client.get(f"/studies/{study_id}").text
    assert f'action="/studies/{study_id}/seeds"' in page and "Look 1 of at most 3" in page
    assert client.post(f"/studies/{study_id}/seeds", data={"seeds": "2"}).status_code == 403  # no CSRF token
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    res = client.post(
        f"/studies/{study_id}/seeds", data={"seeds": "2", "csrf_token": token.group(1)}, follow_redirects=False
    )
    assert res.status_code == 303 and res.headers["location"] == f"/studies/{study_id}"
    assert client.get(f"/api/v1/studies/{study_id}").json()["looks"] == 2


# ---------------------------------------------------------------- quota and the submit page


def projected(settings: Settings, submission_ids: list[int]) -> float:
    """The run-seconds the submissions' runs are projected at (what paying for them costs)."""
    with session_scope(settings.database_url) as session:
        rows = session.scalars(select(Run.projected_seconds).where(Run.submission_id.in_(submission_ids)))
        return sum(float(p or 0.0) for p in rows)


def test_a_study_spends_quota_all_or_nothing(
    client: TestClient, sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = {"name": "Q", "base_spec": BASE, "axis": "depth", "values": [1, 2, 3, 4], "seeds": 2}
    small = {**big, "values": [1, 2]}
    probe = client.post("/api/v1/studies", json=small, headers=_headers(sqlite_settings, "probe-user")).json()
    cost = projected(sqlite_settings, [v["submission_id"] for v in probe["variant_list"]])
    monkeypatch.setitem(quotas.DAILY_SECONDS, "digits", 1.5 * cost)  # room for one small study
    headers = _headers(sqlite_settings, "quota-user")
    res = client.post("/api/v1/studies", json=big, headers=headers)
    assert res.status_code == 429 and "This study (8 runs): projected" in res.json()["detail"]
    assert res.headers["X-Quota-Remaining"] == str(int(1.5 * cost)) and int(res.headers["Retry-After"]) > 0
    assert client.get("/api/v1/submissions?user=quota-user").json() == []  # nothing created
    assert client.post("/api/v1/studies", json=small, headers=headers).status_code == 201
    res = client.post("/api/v1/studies", json={**small, "name": "Q2"}, headers=headers)
    assert res.status_code == 429 and "run-seconds left" in res.json()["detail"]


def test_create_a_study_from_the_submit_page(client: TestClient) -> None:
    page = client.get("/submit").text
    assert 'action="/studies/new"' in page and 'id="study-values"' in page
    form = {"name": "From the page", "benchmark": "digits", "preset": "tiny_vit_digits", "axis": "mixer"}
    form |= {"values": "attention, pooling", "series": "", "match": "macs", "seeds": "2"}
    assert client.post("/studies/new", data=form).status_code == 403  # no CSRF token
    res = client.post("/studies/new", data={**form, "csrf_token": csrf(client, "/submit")}, follow_redirects=False)
    assert res.status_code == 303, res.text
    study = client.get("/api/v1" + res.headers["location"]).json()
    assert study["match"] == "macs" and study["seeds"] == 2
    assert [v["label"] for v in study["variant_list"]] == ["attention", "pooling"]
    bad = {**form, "values": json.dumps([{"kind": "attention"}, "nonsense"]), "csrf_token": csrf(client, "/submit")}
    res = client.post("/studies/new", data=bad)
    assert res.status_code == 422 and "nonsense" in res.text


def test_hidden_and_flagged_variants_are_marked_on_the_study(client: TestClient, sqlite_settings: Settings) -> None:
    with session_scope(sqlite_settings.database_url) as session:
        owner = get_or_create_user(session, "marked")
        body = StudyIn(name="M", base_spec=BASE, axis="depth", values=[1, 2], seeds=2)
        study = create_study(session, owner, body, max_epochs=2)
        first, second = (plan["submission_id"] for plan in study.variants)
        session.execute(update(Submission).where(Submission.id == first).values(hidden_reason="copied <b>entry</b>"))
        session.execute(update(Submission).where(Submission.id == second).values(flag_reason="odd curve"))
        study_id = study.id
    variants = client.get(f"/api/v1/studies/{study_id}").json()["variant_list"]
    assert [(v["hidden_reason"], v["flag_reason"]) for v in variants] == [
        ("copied <b>entry</b>", None),
        (None, "odd curve"),
    ]
    page = client.get(f"/studies/{study_id}").text
    assert "hidden by an admin: copied &lt;b&gt;entry&lt;/b&gt;" in page and "flagged by an admin: odd curve" in page


def test_the_owner_pays_for_added_seeds_all_or_nothing(
    client: TestClient, sqlite_settings: Settings, inconclusive: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"/api/v1/studies/{inconclusive}"
    owner = _headers(sqlite_settings, "owner")
    variants = [v["submission_id"] for v in client.get(url).json()["variant_list"]]
    spent = projected(sqlite_settings, variants)  # the study's own 2 x 3 runs
    needed = 2 / 3 * spent  # two more seeds of each variant
    monkeypatch.setitem(quotas.DAILY_SECONDS, "digits", spent + 0.99 * needed)
    refused = client.post(f"{url}/seeds", json={"seeds": 2}, headers=owner)
    assert refused.status_code == 429 and "These seeds (4 runs): projected" in refused.json()["detail"]
    assert "Retry-After" in refused.headers
    assert client.get(url).json()["looks"] == 1  # nothing added
    monkeypatch.setitem(quotas.DAILY_SECONDS, "digits", spent + 1.01 * needed)
    assert client.post(f"{url}/seeds", json={"seeds": 2}, headers=owner).status_code == 200
    with session_scope(sqlite_settings.database_url) as session:
        user = session.scalars(select(User).where(User.name == "owner")).one()
        assert quotas.quota_for(session, user, "digits", datetime.now(UTC)).remaining < 0.02 * needed
        study = session.get(Study, inconclusive)
        assert study is not None
        first = study.variants[0]["submission_id"]
    history = client.get(f"/submissions/{first}").text
    assert f"owner added 2 seeds (3, 4) (paid in run-seconds): study {inconclusive}, look 2" in history
