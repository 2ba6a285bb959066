"""As a new user would, in headless Chromium: submit through the form, watch the run finish on the
submission page without reloading, then find the new point on the leaderboard's chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.slow]


def test_submit_through_the_form_and_find_the_point(embedded_stack: Stack, browser: Any, output_dir: Path) -> None:
    base = embedded_stack.base_url
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/")
    page.get_by_role("link", name="Submit").first.click()
    page.wait_for_url("**/submit")
    page.fill("#name", "<b>browser</b> resnet")
    page.fill("#spec", '{"preset": "tiny_resnet_digits", "overrides": {}}')
    page.wait_for_selector("#preview.ok")
    assert "MACs" in page.inner_text("#preview")
    page.fill("#seeds", "2")
    page.screenshot(path=str(output_dir / "submit.png"), full_page=True)
    page.click("button[type=submit]")
    page.wait_for_url("**/submissions/*")
    assert page.inner_text("h1") == "<b>browser</b> resnet"  # escaped: shown as text
    page.wait_for_function("document.getElementById('status').textContent.trim() === 'finished'", timeout=240_000)
    assert page.locator("#runs tbody tr").count() == 2
    page.wait_for_selector("#curves[data-rendered=true]")
    page.screenshot(path=str(output_dir / "submission.png"), full_page=True)

    page.goto(f"{base}/benchmarks/digits")
    page.wait_for_selector("#frontier[data-rendered=true]")
    names = page.evaluate(
        "() => document.getElementById('frontier').data.flatMap(t => (t.customdata || []).map(c => c[1]))"
    )
    assert "<b>browser</b> resnet" in names
    assert page.locator("#leaderboard tbody a", has_text="<b>browser</b> resnet").count() == 1
    page.screenshot(path=str(output_dir / "leaderboard.png"), full_page=True)
    page.close()
