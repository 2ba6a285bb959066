"""schemathesis against the app's OpenAPI with every check on: no 5xx, responses match the schema."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_openapi_fuzz_all_checks(embedded_stack: Stack, output_dir: Path) -> None:
    token = embedded_stack.cli("token", "create", "fuzzer").strip()
    st = Path(sys.executable).parent / "st"
    cmd = [
        str(st),
        "run",
        f"{embedded_stack.base_url}/openapi.json",
        "--checks",
        "all",
        "--max-time",
        os.environ.get("ARCHARENA_FUZZ_SECONDS", "45"),
        "--header",
        f"Authorization: Bearer {token}",
        "--no-color",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600)
    (output_dir / "schemathesis.txt").write_text(done.stdout + done.stderr)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
