"""As a new user would, in headless Chromium: find submit from the leaderboard, pick presets and watch the MACs
preview follow, submit, watch the run finish on the submission page without reloading, find the entry in the
table and on the chart, filter (and keep the filter across a reload through the URL), and compare two entries.
A screenshot of each page lands in output_dir."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.stack import Stack, collect_page_errors

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.slow]
NAME = "<b>browser</b> resnet"
POINT_NAMES = "() => document.getElementById('frontier').data.flatMap(t => (t.customdata || []).map(c => c[1]))"


def submit(page: Any, base: str, name: str, preset: str, seeds: str) -> str:
    page.goto(f"{base}/")
    page.get_by_role("link", name="Submit", exact=True).first.click()
    page.wait_for_url("**/submit")
    page.fill("#name", name)
    page.wait_for_selector("#preview.ok")  # the default spec, checked on load
    default = page.get_attribute("#preview", "data-macs")
    page.select_option("#preset", "tiny_vit_digits")
    page.wait_for_selector(f"#preview.ok:not([data-macs='{default}'])")
    before = page.get_attribute("#preview", "data-macs")
    page.select_option("#preset", preset)
    page.wait_for_selector(f"#preview.ok:not([data-macs='{before}'])")  # the MACs preview follows the field
    assert "MACs" in page.inner_text("#preview")
    page.fill("#seeds", seeds)
    page.click("button[type=submit]")
    page.wait_for_url("**/submissions/*")
    return str(page.url).rsplit("/", 1)[1]


def test_new_user_journey(embedded_stack: Stack, browser: Any, output_dir: Path) -> None:
    base = embedded_stack.base_url
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = collect_page_errors(page)

    page.goto(f"{base}/submit")  # a family's own fields, with their limits, drive the JSON and the preview
    page.select_option("#family", "resnet")
    page.wait_for_selector("#family-fields:not([hidden]) #field-stem_width")
    page.wait_for_selector("#preview.ok")
    first = page.get_attribute("#preview", "data-macs")
    page.fill("#field-stem_width", "8")
    page.wait_for_selector(f"#preview.ok:not([data-macs='{first}'])")
    assert '"stem_width": 8' in page.input_value("#spec")
    page.screenshot(path=str(output_dir / "submit-family.png"), full_page=True)

    other = submit(page, base, "browser mixer", "tiny_mixer_digits", "1")
    mine = submit(page, base, NAME, "tiny_resnet_digits", "2")
    assert page.inner_text("h1") == NAME  # escaped: shown as text
    board_tab = browser.new_page(viewport={"width": 1280, "height": 900})  # left open while the runs train
    board_errors = collect_page_errors(board_tab)
    board_tab.goto(f"{base}/benchmarks/digits")
    mine_on_board = board_tab.locator(f"#leaderboard tbody.entry[data-id='{mine}'] td[data-col=test]")
    expect(mine_on_board).to_have_text("—")
    page.screenshot(path=str(output_dir / "submission-queued.png"), full_page=True)
    expect(page.locator("#status")).to_have_text("finished", timeout=300_000)
    assert page.locator("#runs tbody tr").count() == 2
    assert page.locator("#timeline tbody tr").count() == 2
    page.wait_for_selector("#curves[data-rendered=true]")
    assert "$ARCHARENA_TOKEN" in page.inner_text("#curl")
    page.screenshot(path=str(output_dir / "submission.png"), full_page=True)

    page.goto(f"{base}/submissions/{other}")
    expect(page.locator("#status")).to_have_text("finished", timeout=120_000)
    expect(mine_on_board).not_to_have_text("—", timeout=60_000)  # the open board refreshed itself
    assert board_errors == []
    board_tab.close()

    page.goto(f"{base}/benchmarks/digits")
    page.wait_for_selector("#frontier[data-rendered=true]")
    assert NAME in page.evaluate(POINT_NAMES)
    assert page.locator("#leaderboard tbody a", has_text=NAME).count() == 1
    page.screenshot(path=str(output_dir / "leaderboard.png"), full_page=True)

    page.select_option("#f-family", "resnet")  # the server filters: the page comes back with the one row
    page.wait_for_selector("#leaderboard[data-shown='1']")
    page.wait_for_selector("#frontier[data-rendered=true]")
    assert "family=resnet" in page.url
    assert page.evaluate(POINT_NAMES) == [NAME]
    page.reload()
    page.wait_for_selector("#frontier[data-rendered=true]")
    assert page.input_value("#f-family") == "resnet"
    assert page.locator("#leaderboard tbody.entry:not([hidden])").count() == 1
    assert page.evaluate(POINT_NAMES) == [NAME]
    page.select_option("#c-x", "params")
    page.wait_for_selector("#frontier[data-variant='family|params|test']")
    assert "x=params" in page.url
    page.screenshot(path=str(output_dir / "leaderboard-filtered.png"), full_page=True)

    page.goto(f"{base}/benchmarks/digits")
    page.wait_for_selector("#frontier[data-rendered=true]")
    page.check(f"input.pick[value='{mine}']")
    page.check(f"input.pick[value='{other}']")
    page.click("#compare-button")
    page.wait_for_url("**/compare?ids=*")
    assert page.locator("#pairs tbody tr").count() == 1
    assert page.locator("#side-by-side thead th", has_text=NAME).count() == 1
    page.wait_for_selector("#compare-curves[data-rendered=true]")
    page.screenshot(path=str(output_dir / "compare.png"), full_page=True)

    page.goto(f"{base}/queue")
    assert page.locator("#queue tbody tr").count() == 3
    page.screenshot(path=str(output_dir / "queue.png"), full_page=True)

    phone = browser.new_page(viewport={"width": 390, "height": 844})
    phone.goto(f"{base}/benchmarks/digits")
    phone.wait_for_selector("#frontier[data-rendered=true]")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 400  # the table scrolls inside its wrapper
    phone.screenshot(path=str(output_dir / "leaderboard-phone.png"), full_page=True)
    phone.close()
    assert not errors, errors
    page.close()
