"""A running embedded stack (SQLite database + SQLAlchemy broker + a worker subprocess + the web app),
shared by the browser and API-fuzzing tests of one module."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.stack import Stack, migrated_stack

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def embedded_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("stack")
    with migrated_stack(home, {"ARCHARENA_MAX_EPOCHS": "2"}) as stack:
        stack.start_worker()
        stack.start_web()
        yield stack


@pytest.fixture(scope="session")
def output_dir() -> Path:
    path = Path(os.environ.get("ARCHARENA_TEST_OUTPUT", "test-output"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        message = "Chromium is not installed: apt-get install -y chromium (or `make setup` as root)"
        if os.environ.get("ARCHARENA_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()
