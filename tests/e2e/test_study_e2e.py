"""A study on the real services: PostgreSQL + Redis, two worker subprocesses, the web app. Create a small
study through the API (3 variants × 2 seeds, 2 epochs on digits), let the workers train it, read the verdicts
from GET /api/v1/studies/{id}, and render the page in Chromium: the verdict grid, the per-variant charts
(Plotly, drawn by the static script under the CSP) and no console errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.stack import Stack, collect_page_errors, migrated_stack, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
STUDY = {
    "benchmark": "digits",
    "name": "e2e mixers",
    "base_spec": {"preset": "tiny_poolformer_digits", "overrides": {}},
    "axis": "mixer",
    "values": ["pooling", "identity", {"kind": "dwconv", "kernel": 3}],
    "seeds": 2,
}


@pytest.fixture
def stack(tmp_path: Path, pg_url: str, redis_url: str) -> Iterator[Stack]:
    env = {"ARCHARENA_DATABASE_URL": pg_url, "ARCHARENA_BROKER_URL": redis_url, "ARCHARENA_MAX_EPOCHS": "2"}
    with migrated_stack(tmp_path, env) as stack:
        yield stack


def test_study_trains_and_shows_its_verdicts(stack: Stack, browser: Any, output_dir: Path) -> None:
    token = stack.cli("token", "create", "student").strip()
    stack.start_worker("worker1")
    stack.start_worker("worker2")
    base = stack.start_web()
    headers = {"Authorization": f"Bearer {token}"}

    res = httpx.post(f"{base}/api/v1/studies", json=STUDY, headers=headers, timeout=30)
    assert res.status_code == 201, res.text
    study = res.json()
    assert len(study["variant_list"]) == 3 and all(v["submission_id"] for v in study["variant_list"])
    assert {v["kind"] for v in study["verdicts"]} == {"pending"}

    def done() -> dict[str, Any] | None:
        body = httpx.get(f"{base}/api/v1/studies/{study['id']}", timeout=5).json()
        return body if body["status"] in ("finished", "failed") else None

    try:
        final = wait_for(done, 180, "the study's runs", interval=0.5)
    except TimeoutError as exc:
        raise TimeoutError(f"{exc}\n{stack.logs()}") from None
    assert final["status"] == "finished", stack.logs()
    assert len(final["verdicts"]) == 3
    assert all(v["kind"] in ("equivalent", "a_better", "b_better", "inconclusive") for v in final["verdicts"])
    assert all(v["seeds_finished"] == 2 and len(v["val_acc_curve"]) == 2 for v in final["variant_list"])
    assert all(v["images_per_second"] > 0 for v in final["variant_list"])
    assert final["alpha"] == 0.025 and final["delta"] >= 0.01 and "Does the mixer matter" in final["summary"]

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = collect_page_errors(page)
    page.goto(f"{base}/studies/{study['id']}")
    page.wait_for_selector("#verdict-grid")
    assert page.locator("#verdict-grid tbody tr").count() == 3
    assert page.locator("#verdict-grid td.v-self").count() == 3
    for chart in ("study-accuracy", "study-curves"):
        page.wait_for_selector(f"#{chart}[data-rendered=true]")
        assert page.locator(f"#{chart}.js-plotly-plot").count() == 1
        assert page.locator(f"#{chart} .main-svg").count() >= 1
    assert page.locator("#study-accuracy .point").count() >= 3
    page.screenshot(path=str(output_dir / "study.png"), full_page=True)
    assert errors == [], errors
