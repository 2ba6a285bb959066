"""The API reference renders in Chromium under the site's Content-Security-Policy, from this app's own assets
(no CDN): Swagger UI lists every operation and "Try it out" really calls the API; ReDoc renders too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.stack import Stack, collect_page_errors

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_swagger_ui_renders_and_try_it_out_calls_the_api(embedded_stack: Stack, browser: Any, output_dir: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors = collect_page_errors(page)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{embedded_stack.base_url}/docs")
    page.wait_for_selector("#swagger-ui[data-rendered=true]")
    assert page.locator(".opblock").count() >= 15
    op = page.locator(".opblock-get", has_text="/api/v1/benchmarks").first
    op.locator(".opblock-summary").click()
    op.get_by_role("button", name="Try it out").click()
    op.get_by_role("button", name="Execute").click()
    status = op.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip().startswith("200")
    assert "digits" in op.locator(".live-responses-table tbody .microlight").first.inner_text()
    page.screenshot(path=str(output_dir / "api-docs.png"))
    assert all(u.startswith(embedded_stack.base_url) for u in requests), [u for u in requests if "127.0.0.1" not in u]
    assert errors == [], errors


def test_redoc_renders(embedded_stack: Stack, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors = collect_page_errors(page)
    page.goto(f"{embedded_stack.base_url}/redoc")
    page.get_by_role("heading", name="List Benchmarks").first.wait_for()
    assert errors == [], errors
