"""Seeds trained as one batched model (batching forced on CPU) keep their weights too, each member its own: every
run's stored file loads into one model that scores what the run reported, and the downstream runs are queued."""

from __future__ import annotations

import torch
from sqlalchemy import select

from app.benchmarks.registry import get_benchmark
from app.core.config import Settings
from app.core.db.session import session_scope
from app.core.db.tables import Run
from app.weights.format import metadata
from app.weights.store import store_for
from app.zoo.build import build_model
from app.zoo.spec import parse_spec
from tests.workers.test_runner import make_submission
from workers import runner
from workers.training.data_on_device import to_device_split
from workers.training.evaluate import evaluate
from workers.training.weights import load_weights

SPEC = {"preset": "tiny_plain_digits", "overrides": {}}  # what make_submission submits


def test_every_batched_member_keeps_its_own_weights(sqlite_settings: Settings) -> None:
    settings = sqlite_settings.model_copy(update={"batch_on_cpu": True, "device": "cpu", "transfer_runs": True})
    ids = make_submission(settings, seeds=2)
    assert runner.execute_run(settings, ids[0]) == "finished"
    with session_scope(settings.database_url) as session:
        runs = {r.id: r for r in session.scalars(select(Run).where(Run.id.in_(ids)))}
        downstream = session.scalars(select(Run.parent_run_id).where(Run.kind != "upstream")).all()
    assert sorted(downstream) == sorted(ids * 2)  # a probe and a fine-tune per member
    test = get_benchmark("digits").load().test
    split = to_device_split(test.x, test.y, torch.device("cpu"))
    files = []
    for run_id in ids:
        run = runs[run_id]
        assert run.weights_key is not None
        data = store_for(settings).get(run.weights_key)
        assert metadata(data)["seed"] == str(run.seed)
        model = build_model(parse_spec(SPEC), (1, 8, 8), 10)
        load_weights(model, data)
        _, acc = evaluate(model.eval(), split, 256)
        assert abs(acc - (run.test_acc or 0.0)) < 1e-6
        files.append(data)
    assert files[0] != files[1]
