"""Downstream transfer on the real stack: PostgreSQL, Redis, a worker process and the web process, with the
weights store on a real S3-speaking server (moto's). A platform baseline is trained by the worker; its weights
land in the bucket; its probe and fine-tune runs are queued by the finishing transactions and trained from those
weights; the API streams the weights (loaded back into the model) and shows the accuracies, as do the entry page
and the benchmark's transfer chart in Chromium."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
from tests.e2e.stack import Stack, collect_page_errors, migrated_stack, poll_submission, wait_for
from workers.training.weights import load_weights

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PRESET = "tiny_resnet_digits"


def queue_baseline(session: Session) -> tuple[int, int]:
    """A platform baseline of the preset on digits (two seeds), queued as the demo queues its baselines."""
    user = get_or_create_user(session, BASELINE_USER, is_admin=True)
    spec = {"preset": PRESET, "overrides": {}}
    body = SubmissionIn(benchmark="digits", name=f"{PRESET} transfer e2e", spec=spec, seeds=2)
    submission = create_submission(session, user, body, max_epochs=1)
    submission.is_baseline = True
    return submission.id, submission.seeds_requested


def wait_for_transfer(stack: Stack, sub_id: int, seeds: int) -> dict[str, Any]:
    def transferred() -> dict[str, Any] | None:
        body: dict[str, Any] = httpx.get(f"{stack.base_url}/api/v1/submissions/{sub_id}/transfer", timeout=5).json()
        task = body["tasks"][0]
        done = all(task[k] is not None and task[k]["n"] == seeds for k in ("probe", "finetune"))
        return body if done else None

    try:
        return wait_for(transferred, 90, "the probe and fine-tune runs", interval=0.5)
    except TimeoutError as exc:
        raise TimeoutError(f"{exc}\n{stack.logs()}") from None


@pytest.fixture(scope="module")
def transferred(
    tmp_path_factory: pytest.TempPathFactory, pg_url: str, redis_url: str, s3_endpoint: str
) -> Iterator[tuple[Stack, int, dict[str, Any], str]]:
    """The stack after a two-seed baseline and its four downstream runs finished: (stack, entry id, transfer
    JSON, the store's URL)."""
    bucket = f"archarena-e2e-{secrets.token_hex(4)}"
    s3fs.S3FileSystem(client_kwargs={"endpoint_url": s3_endpoint}).mkdir(bucket)
    env = {
        "ARCHARENA_DATABASE_URL": pg_url,
        "ARCHARENA_BROKER_URL": redis_url,
        "ARCHARENA_MAX_EPOCHS": "1",
        "ARCHARENA_TRANSFER_RUNS": "1",
        "ARCHARENA_WEIGHTS_URL": f"s3://{bucket}/weights",
        "ARCHARENA_WEIGHTS_S3_ENDPOINT": s3_endpoint,
        **S3_CREDENTIALS,
    }
    with migrated_stack(tmp_path_factory.mktemp("transfer"), env) as stack:
        with session_scope(stack.settings().database_url) as session:
            sub_id, seeds = queue_baseline(session)
        stack.start_worker()
        base = stack.start_web()
        assert poll_submission(base, sub_id, 90, stack)["status"] == "finished", stack.logs()
        yield stack, sub_id, wait_for_transfer(stack, sub_id, seeds), env["ARCHARENA_WEIGHTS_URL"]


def test_baseline_weights_in_s3_then_probe_and_fine_tune(
    transferred: tuple[Stack, int, dict[str, Any], str], s3_endpoint: str
) -> None:
    stack, _, body, url = transferred
    task = body["tasks"][0]
    assert task["upstream"]["n"] == 2 and all(r["status"] == "finished" for r in task["runs"])
    assert all(0.0 <= task[k]["mean"] <= 1.0 for k in ("upstream", "probe", "finetune"))
    upstream = [w for w in body["weights"] if w["kind"] == "upstream"]
    assert sorted(w["seed"] for w in upstream) == [0, 1]
    got = httpx.get(f"{stack.base_url}{upstream[0]['url']}", timeout=10)
    assert got.status_code == 200
    meta = metadata(got.content)
    assert (meta["benchmark"], meta["seed"], meta["recipe"]) == ("digits", str(upstream[0]["seed"]), "digits-v2")
    load_weights(build_model(parse_spec({"preset": PRESET, "overrides": {}}), (1, 8, 8), 10), got.content)
    bucket = s3fs.S3FileSystem(client_kwargs={"endpoint_url": s3_endpoint})
    assert bucket.cat_file(f"{url.removeprefix('s3://')}/runs/{upstream[0]['run_id']}.safetensors") == got.content
    assert not (stack.home / "data" / "weights").exists()  # nothing written beside the bucket


@pytest.mark.browser
def test_entry_page_and_transfer_chart_in_chromium(
    transferred: tuple[Stack, int, dict[str, Any], str], browser: Any, output_dir: Path
) -> None:
    stack, sub_id, body, _ = transferred
    page = browser.new_page()
    errors = collect_page_errors(page)
    page.goto(f"{stack.base_url}/submissions/{sub_id}")
    assert page.locator("#transfer table.transfer-scores tbody tr").count() == 3
    assert page.locator("#weights-links a").count() == len(body["weights"])
    page.goto(f"{stack.base_url}/benchmarks/digits/transfer")
    page.wait_for_selector("#transfer-digits_rot90 .main-svg")
    assert page.locator("#transfer-digits_rot90 .scatterlayer .point").count() == 2  # probe and fine-tune
    page.screenshot(path=str(output_dir / "transfer-chart.png"), full_page=True)
    assert errors == []
    page.close()
