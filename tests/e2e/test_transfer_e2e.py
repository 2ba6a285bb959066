"""Downstream transfer on the real stack: PostgreSQL, Redis, a worker process and the web process, with the
weights store on a real S3-speaking server (moto's). A platform baseline is trained by the worker; its weights
land in the bucket; its probe and fine-tune runs are queued by the finishing transactions and trained from those
weights; the API streams the weights (loaded back into the model) and shows the accuracies, as does the page."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import s3fs
from sqlalchemy.orm import Session

from app.core.db.session import session_scope
from app.submissions.schemas import SubmissionIn
from app.submissions.service import create_submission
from app.users.service import BASELINE_USER, get_or_create_user
from app.weights.format import metadata
from app.zoo.build import build_model
from app.zoo.spec import parse_spec
from tests.conftest import S3_CREDENTIALS
from tests.e2e.stack import migrated_stack, poll_submission, wait_for
from workers.training.weights import load_weights

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PRESET = "tiny_resnet_digits"


def queue_baseline(session: Session) -> tuple[int, int]:
    """A platform baseline of the preset on digits (two seeds), queued as the demo queues its baselines."""
    user = get_or_create_user(session, BASELINE_USER, is_admin=True)
    body = SubmissionIn(
        benchmark="digits", name=f"{PRESET} transfer e2e", spec={"preset": PRESET, "overrides": {}}, seeds=2
    )
    submission = create_submission(session, user, body, max_epochs=1)
    submission.is_baseline = True
    return submission.id, submission.seeds_requested


def test_baseline_weights_in_s3_then_probe_and_fine_tune(
    tmp_path: Path, pg_url: str, redis_url: str, s3_url: str, s3_endpoint: str
) -> None:
    env = {
        "ARCHARENA_DATABASE_URL": pg_url,
        "ARCHARENA_BROKER_URL": redis_url,
        "ARCHARENA_MAX_EPOCHS": "1",
        "ARCHARENA_TRANSFER_RUNS": "1",
        "ARCHARENA_WEIGHTS_URL": s3_url,
        "ARCHARENA_WEIGHTS_S3_ENDPOINT": s3_endpoint,
        **S3_CREDENTIALS,
    }
    with migrated_stack(tmp_path, env) as stack:
        with session_scope(stack.settings().database_url) as session:
            sub_id, seeds = queue_baseline(session)
        stack.start_worker()
        base = stack.start_web()
        assert poll_submission(base, sub_id, 90, stack)["status"] == "finished", stack.logs()

        def transferred() -> dict[str, object] | None:
            body = httpx.get(f"{base}/api/v1/submissions/{sub_id}/transfer", timeout=5).json()
            task = body["tasks"][0]
            done = all(task[k] is not None and task[k]["n"] == seeds for k in ("probe", "finetune"))
            return body if done else None

        try:
            body = wait_for(transferred, 90, "the probe and fine-tune runs", interval=0.5)
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}\n{stack.logs()}") from None
        task = body["tasks"][0]  # type: ignore[index]
        assert task["upstream"]["n"] == seeds and all(r["status"] == "finished" for r in task["runs"])
        assert all(0.0 <= task[k]["mean"] <= 1.0 for k in ("upstream", "probe", "finetune"))

        upstream = [w for w in body["weights"] if w["kind"] == "upstream"]  # type: ignore[attr-defined]
        assert sorted(w["seed"] for w in upstream) == list(range(seeds))
        got = httpx.get(f"{base}{upstream[0]['url']}", timeout=10)
        assert got.status_code == 200
        meta = metadata(got.content)
        assert (meta["benchmark"], meta["seed"], meta["recipe"]) == ("digits", str(upstream[0]["seed"]), "digits-v2")
        load_weights(build_model(parse_spec({"preset": PRESET, "overrides": {}}), (1, 8, 8), 10), got.content)
        bucket = s3fs.S3FileSystem(client_kwargs={"endpoint_url": s3_endpoint})
        stored = bucket.cat_file(f"{s3_url.removeprefix('s3://')}/runs/{upstream[0]['run_id']}.safetensors")
        assert stored == got.content
        assert not (tmp_path / "data" / "weights").exists()  # nothing written beside the bucket

        page = httpx.get(f"{base}/submissions/{sub_id}", timeout=10).text
        assert 'id="transfer"' in page and upstream[0]["url"] in page
        chart = httpx.get(f"{base}/benchmarks/digits/transfer", timeout=10).text
        assert f"/submissions/{sub_id}" in chart
