"""The transfer path in-process on a migrated SQLite database: upstream runs store their weights and queue their
downstream runs through the outbox in the same transaction; the downstream runs train from the stored weights;
the API and pages show upstream vs downstream accuracy and stream the weights; a missing file is a clear 404."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.config import Settings
from app.core.db.migrate import upgrade
from app.core.db.session import session_scope
from app.core.db.tables import OutboxMessage, Run, Submission
from app.main import create_app
from app.runs.repository import requeue_runs
from app.submissions.schemas import SubmissionIn
from app.submissions.service import create_submission
from app.users.service import get_or_create_user
from app.weights.format import metadata
from app.weights.store import store_for
from app.zoo.build import build_model
from app.zoo.spec import parse_spec
from tests.conftest import demo_settings
from workers.runner import execute_run
from workers.training.weights import load_weights

SPEC = {"preset": "tiny_resnet_digits", "overrides": {}}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, int]:
    """A two-seed digits entry whose upstream and downstream runs have all been trained by the runner (once for
    the module: the last test removes a stored file)."""
    settings = demo_settings(tmp_path_factory.mktemp("transfer"), transfer_runs=True, max_epochs=1)
    settings.ensure_dirs()
    upgrade(settings.database_url)
    with session_scope(settings.database_url) as session:
        user = get_or_create_user(session, "transfer-test")
        body = SubmissionIn(name="resnet transfer", spec=SPEC, seeds=2)
        submission = create_submission(session, user, body, max_epochs=settings.max_epochs)
        sub_id, upstream_ids = submission.id, [r.id for r in submission.runs]
    for run_id in upstream_ids:
        assert execute_run(settings, run_id) == "finished"
    with session_scope(settings.database_url) as session:
        runs = session.scalars(select(Run).where(Run.submission_id == sub_id).order_by(Run.id)).all()
        downstream = [r for r in runs if r.kind != "upstream"]
        assert sorted((r.kind, r.seed) for r in downstream) == [
            ("finetune", 0),
            ("finetune", 1),
            ("probe", 0),
            ("probe", 1),
        ]
        assert all(r.status == "queued" and r.task == "digits_rot90" for r in downstream)
        assert {r.parent_run_id for r in downstream} == set(upstream_ids)
        outbox = set(session.scalars(select(OutboxMessage.run_id)))
        assert {r.id for r in downstream} <= outbox  # queued with their messages, in the finishing transaction
        assert [r.weights_key for r in runs if r.kind == "upstream"] == [f"runs/{i}.safetensors" for i in upstream_ids]
        assert session.scalar(select(Submission.status).where(Submission.id == sub_id)) == "finished"
    for run in downstream:
        assert execute_run(settings, run.id) == "finished"
    assert execute_run(settings, upstream_ids[0]) == "skipped"  # nothing else queued: no transfer of a transfer
    return settings, sub_id


def test_upstream_and_downstream_accuracy_and_weights(trained: tuple[Settings, int]) -> None:
    settings, sub_id = trained
    with TestClient(create_app(settings)) as client:
        entry = client.get(f"/api/v1/submissions/{sub_id}").json()
        assert len(entry["runs"]) == 2  # the entry's own seeds only
        body = client.get(f"/api/v1/submissions/{sub_id}/transfer").json()
        (task,) = body["tasks"]
        assert task["task"] == "digits_rot90" and "quarter" in task["description"]
        for field in ("upstream", "probe", "finetune"):
            score = task[field]
            assert score["n"] == 2 and 0.0 <= score["low"] <= score["mean"] <= score["high"] <= 1.0
        assert {r["status"] for r in task["runs"]} == {"finished"} and len(task["runs"]) == 4
        assert len(body["weights"]) == 6
        seed1 = next(w for w in body["weights"] if w["kind"] == "upstream" and w["seed"] == 1)
        got = client.get(seed1["url"])
        assert got.status_code == 200 and got.headers["content-type"] == "application/octet-stream"
        assert "seed1.safetensors" in got.headers["content-disposition"]
        meta = metadata(got.content)
        assert (meta["seed"], meta["benchmark"], meta["kind"], meta["recipe"]) == (
            "1",
            "digits",
            "upstream",
            "digits-v2",
        )
        assert (
            meta["spec_hash"] == entry["spec_hash"]
            and meta["fingerprint"]
            and meta["recipe_version"].endswith("+epochs1")
        )
        load_weights(build_model(parse_spec(SPEC), (1, 8, 8), 10), got.content)

        page = client.get(f"/submissions/{sub_id}").text
        assert 'id="transfer"' in page and seed1["url"] in page and "linear probe" in page
        chart = client.get("/benchmarks/digits/transfer")
        assert chart.status_code == 200 and 'id="transfer-digits_rot90"' in chart.text and "quarter turn" in chart.text
        (board,) = client.get("/api/v1/benchmarks/digits/transfer").json()
        assert [e["id"] for e in board["entries"]] == [sub_id] and board["entries"][0]["probe"]["n"] == 2


def test_a_re_run_queues_its_downstream_runs_again_without_duplicates(trained: tuple[Settings, int]) -> None:
    settings, sub_id = trained
    with session_scope(settings.database_url) as session:
        first = session.scalar(select(Run).where(Run.submission_id == sub_id, Run.kind == "upstream", Run.seed == 0))
        assert first is not None
        before = {r.id: r.status for r in session.scalars(select(Run).where(Run.parent_run_id == first.id))}
        assert requeue_runs(session, [first.id]) == [first.id]
        first_id = first.id
    assert execute_run(settings, first_id) == "finished"
    with session_scope(settings.database_url) as session:
        after = {r.id: r.status for r in session.scalars(select(Run).where(Run.parent_run_id == first_id))}
    assert set(before.values()) == {"finished"} and after == dict.fromkeys(before, "queued")
    for run_id in after:
        assert execute_run(settings, run_id) == "finished"


def test_missing_weights_are_a_clear_404(trained: tuple[Settings, int]) -> None:
    settings, sub_id = trained
    with session_scope(settings.database_url) as session:
        runs = session.scalars(select(Run).where(Run.submission_id == sub_id).order_by(Run.id)).all()
        first, second = runs[0], runs[1]
        second.weights_key = None
        key = first.weights_key
    assert key is not None
    store_for(settings).fs.rm(f"{settings.weights_url}/{key}")
    with TestClient(create_app(settings)) as client:
        for run_id, what in (
            (first.id, f"stored weights of run {first.id}"),
            (second.id, f"stored weights of run {second.id}"),
            (2**31 - 2, "run"),
        ):
            res = client.get(f"/api/v1/runs/{run_id}/weights")
            assert res.status_code == 404 and res.json()["detail"] == f"{what} not found"
            assert str(settings.home) not in res.text and "/" not in res.json()["detail"]
        assert client.get("/api/v1/runs/0/weights").status_code == 422
        assert client.get("/api/v1/benchmarks/nope/transfer").status_code == 404
        assert client.get("/benchmarks/pathfinder/transfer").status_code == 200  # declares none: says so
