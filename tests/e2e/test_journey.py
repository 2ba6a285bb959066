"""A newcomer's first contact, in headless Chromium at 1400 px and at 390 px (a phone): sign up → submit (a
MetaFormer's token mixer chosen from a field, a bad width marked beside its field, a duplicate explained) →
follow the entry (its queue position) → compare → studies (a study form error beside its field) → tokens (shown
once, after a redirect) → the API reference. Every page must fit its viewport (no sideways scrolling), log no
console error, and leave a screenshot in ARCHARENA_TEST_OUTPUT (default test-output/).

No worker runs here: every entry stays queued, so the queue position and the empty chart state are certain."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.stack import Stack, collect_page_errors, migrated_stack

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
EXPECTED_REFUSALS = re.compile(r"^422 .*/(submit|api/v1/specs/validate|studies/new)$")


@pytest.fixture(scope="module")
def web_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with migrated_stack(tmp_path_factory.mktemp("journey"), {"ARCHARENA_MAX_EPOCHS": "2"}) as stack:
        stack.start_web()
        yield stack


class Walk:
    """One browser page at one width: each visited page is checked for width and saved as a screenshot."""

    def __init__(self, browser: Any, base: str, width: int, output: Path) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": 900})
        self.errors = collect_page_errors(self.page)
        self.base, self.width, self.output = base, width, output

    def go(self, path: str) -> Any:
        self.page.goto(self.base + path)
        return self.page

    def check(self, name: str) -> None:
        page = self.page
        page.wait_for_load_state("load")
        wide = page.evaluate("document.scrollingElement.scrollWidth")
        assert wide <= page.evaluate("window.innerWidth"), f"{name} is {wide} px wide at {self.width} px"
        page.screenshot(path=str(self.output / f"journey-{self.width}-{name}.png"), full_page=True)

    def unexpected_errors(self) -> list[str]:
        return [e for e in self.errors if not EXPECTED_REFUSALS.match(e)]


def sign_up(walk: Walk, name: str) -> None:
    page = walk.go("/")
    walk.check("home")
    if walk.width < 700:  # the menu folds behind a button on a phone
        assert not page.locator("header nav").is_visible()
        page.click("label.nav-button")
        assert page.locator("header nav").is_visible()
    page.locator("header nav a", has_text="Sign up").click()
    page.fill("#name", name)
    page.fill("#password", "correct horse battery")
    walk.check("signup")
    page.click("#signup-form button[type=submit]")
    page.wait_for_url("**/users/*")


def submit_metaformer(walk: Walk) -> str:
    page = walk.go("/submit")
    page.fill("#name", f"pool former {walk.width}")
    page.select_option("#family", "metaformer")
    page.select_option("#field-stages-0-mixer-kind", '"pooling"')  # the token mixer, from a field
    page.wait_for_selector("#field-stages-0-mixer-pool_size")  # and the pooling mixer's own field
    assert '"kind": "pooling"' in page.input_value("#spec")
    page.select_option("#field-stages-0-mixer-kind", '"attention"')
    page.wait_for_selector("#field-stages-0-mixer-heads")
    page.fill("#field-stages-0-width", "30")  # not a multiple of the 4 heads
    page.wait_for_selector("#family-fields .field-error")
    walk.check("submit-fields")
    page.click("#submit-form button[type=submit]")
    page.wait_for_selector("#form-errors")
    assert "Stage 1: width 30 is not divisible by the mixer's 4 heads." in page.inner_text("#form-errors")
    assert "body.spec" not in page.content()
    assert page.input_value("#family") == "metaformer"  # the family and the fields are kept
    assert page.input_value("#field-stages-0-width") == "30"
    assert "not divisible" in page.inner_text("#family-fields .field-error")
    walk.check("submit-error")
    page.fill("#field-stages-0-width", "32" if walk.width > 700 else "36")  # each width its own new entry
    page.wait_for_selector("#preview.ok")
    page.fill("#seeds", "2")
    page.click("#submit-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/submissions/\d+$"))
    return str(page.url).rsplit("/", 1)[1]


def follow_and_duplicate(walk: Walk, sid: str) -> None:
    page = walk.page
    assert "In the queue:" in page.inner_text("#queue-position")
    assert page.locator("#curves-empty").is_visible() and not page.locator("#curves").is_visible()
    walk.check("submission-queued")
    page.click("#resubmit")  # the same spec again: it joins the entry, and the page says so
    page.wait_for_url("**/submit?from=*")
    page.click("#submit-form button[type=submit]")
    page.wait_for_url(f"**/submissions/{sid}?added=0")
    assert f"identical to #{sid}" in page.inner_text("#joined")
    walk.check("duplicate")
    page = walk.go("/queue")
    assert page.locator("#q-mine").is_enabled()
    walk.check("queue")


def second_entry(walk: Walk) -> str:
    page = walk.go("/submit")
    page.fill("#name", f"resnet {walk.width}")
    page.select_option("#preset", "tiny_resnet_digits")
    page.wait_for_selector("#preview.ok")
    page.click("#submit-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/submissions/\d+(\?added=\d+)?$"))
    return str(page.url).split("?")[0].rsplit("/", 1)[1]


def compare_and_studies(walk: Walk, a: str, b: str) -> None:
    page = walk.go(f"/compare?ids={a}&ids={b}")
    assert page.locator("#compare-curves-empty").is_visible()  # queued entries: no empty axes
    shown = page.evaluate("getComputedStyle(document.querySelector('#side-by-side td')).display")
    assert shown == ("block" if walk.width < 700 else "table-cell")  # rows on a phone
    walk.check("compare")
    walk.go("/studies")
    walk.check("studies")
    page = walk.go("/submit")
    page.fill("#study-name", "Bad path")
    page.select_option("#study-axis", "path")
    page.fill("#study-path", "stages.*.nope")
    page.click("#study-form button[type=submit]")
    page.wait_for_selector("#study-path-error")
    assert "has no field" in page.inner_text("#study-path-error")
    assert page.input_value("#study-path") == "stages.*.nope" and page.input_value("#study-name") == "Bad path"
    walk.check("study-error")
    page.fill("#study-path", "stages.*.depth")
    page.fill("#study-values", "1, 2")
    page.click("#study-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/studies/\d+$"))
    assert page.inner_text("#study-summary").startswith("Not decided yet")
    walk.check("study")
    page = walk.go("/studies")
    assert "Not decided yet" in page.inner_text("#studies")  # each study's answer so far, in the list
    walk.check("studies-answers")


def delete_and_boards(walk: Walk, sid: str) -> None:
    page = walk.go(f"/submissions/{sid}")
    page.click("#manage summary")
    page.click("#delete-link")
    page.wait_for_url(f"**/submissions/{sid}/delete")
    assert "cancels its 2 unfinished runs" in page.inner_text("#delete-consequences")
    walk.check("delete-confirm")
    page.click("#delete-form button[type=submit]")
    page.wait_for_url(f"**/submissions/{sid}/deleted")
    assert "2 unfinished runs were cancelled" in page.inner_text("#deleted")
    walk.check("deleted")
    for name, path in (("leaderboard", "/benchmarks/digits"), ("overall", "/overall")):
        walk.go(path)
        walk.check(name)


def tokens_and_reference(walk: Walk) -> None:
    page = walk.go("/tokens")
    page.fill("#token-name", "laptop")
    page.click("#token-form button[type=submit]")
    page.wait_for_selector("#token-value")
    assert "export ARCHARENA_TOKEN=" in page.inner_text("#token-curl")
    walk.check("tokens")
    page.reload()
    assert page.locator("#token-value").count() == 0 and page.locator("#tokens tbody tr").count() == 1
    page = walk.go("/docs")
    page.wait_for_selector("#swagger-ui[data-rendered=true]")
    assert page.locator(".opblock").count() >= 15
    walk.check("api-reference")
    walk.go("/how")
    walk.check("how")
    page.emulate_media(color_scheme="dark")  # the system's dark mode is followed
    page = walk.go("/submit")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(20, 23, 28)"
    walk.check("submit-dark")


@pytest.mark.parametrize("width", [1400, 390])
def test_first_contact(web_only: Stack, browser: Any, output_dir: Path, width: int) -> None:
    walk = Walk(browser, web_only.base_url, width, output_dir)
    sign_up(walk, f"newcomer{width}")
    sid = submit_metaformer(walk)
    follow_and_duplicate(walk, sid)
    other = second_entry(walk)
    compare_and_studies(walk, sid, other)
    tokens_and_reference(walk)
    delete_and_boards(walk, sid)
    assert walk.unexpected_errors() == []
    walk.page.close()
