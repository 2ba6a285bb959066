"""The queue page in headless Chromium on a real `archarena web` with no worker: what trains now, then the queue in
fair order with estimated starts, the submission page's "n runs ahead", and no page wider than a phone's screen.
Screenshots land in output_dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.db.session import session_scope
from app.runs import lifecycle
from tests.e2e.stack import Stack, collect_page_errors, migrated_stack

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def idle_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with migrated_stack(tmp_path_factory.mktemp("queue"), {"ARCHARENA_MAX_EPOCHS": "2"}) as stack:
        stack.start_web()
        yield stack


def submit(stack: Stack, token: str, name: str, width: int, seeds: int) -> dict[str, Any]:
    spec = {"preset": "tiny_resnet_digits", "overrides": {"stem_width": width}}
    res = httpx.post(
        f"{stack.base_url}/api/v1/submissions",
        json={"name": name, "spec": spec, "seeds": seeds},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert res.status_code == 201, res.text
    body: dict[str, Any] = res.json()
    return body


def test_the_queue_in_fair_order_fits_a_phone(idle_stack: Stack, browser: Any, output_dir: Path) -> None:
    heavy = idle_stack.cli("token", "create", "heavy-user-with-a-rather-long-name").strip()
    light = idle_stack.cli("token", "create", "light").strip()
    mine = [submit(idle_stack, heavy, f"heavy {i} with a long descriptive name", 10 + i, 3) for i in range(4)]
    theirs = submit(idle_stack, light, "light", 30, 1)
    with session_scope(idle_stack.settings().database_url) as session:  # a worker holds the heavy user's first
        assert lifecycle.claim(session, mine[0]["runs"][0]["id"], worker="gpu-box-7:31337", device="cpu", max_epochs=2)
    assert theirs["queue_position"] == 1  # at submission: behind the heavy user's oldest run only
    now = httpx.get(f"{idle_stack.base_url}/api/v1/submissions/{theirs['id']}").json()
    assert now["queue_position"] == 0  # the heavy user has a run training now: the light one is next

    page = browser.new_page(viewport={"width": 390, "height": 844})
    errors = collect_page_errors(page)
    page.goto(f"{idle_stack.base_url}/queue")
    assert page.locator("#running tbody tr[data-run]").count() == 1
    queued = page.locator("#queued tbody tr[data-run]")
    assert queued.count() == 12
    assert queued.first.get_attribute("data-run") == str(theirs["runs"][0]["id"])
    assert page.evaluate("document.documentElement.scrollWidth") <= 400  # wide tables scroll inside their wrapper
    page.screenshot(path=str(output_dir / "queue-phone.png"), full_page=True)

    page.goto(f"{idle_stack.base_url}/submissions/{mine[3]['id']}")
    text = page.inner_text("#queue-position")
    ahead = httpx.get(f"{idle_stack.base_url}/api/v1/submissions/{mine[3]['id']}").json()["queue_position"]
    assert f"{ahead} runs ahead" in text and "estimated start" in text
    assert ahead == 9  # light's one run, then the heavy user's other queued runs, oldest first
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    page.screenshot(path=str(output_dir / "submission-queued-phone.png"), full_page=True)
    assert not errors, errors
    page.close()
