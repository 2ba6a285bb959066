"""schemathesis against the app's OpenAPI with every check on: no 5xx, responses match the schema, on the
embedded stack (SQLite) and on PostgreSQL + Redis (where a NUL character in text or a 64-bit id would reach the
database were the app not to stop it first; schemathesis.toml asks for both)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.e2e.stack import Stack, migrated_stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
# The fuzzer's writes would otherwise mostly meet the rate limit (a documented 429, but little coverage).
ROOMY = {"ARCHARENA_RATE_LIMIT_PER_MINUTE": "100000", "ARCHARENA_MAX_EPOCHS": "2"}


@pytest.fixture(scope="module")
def postgres_stack(tmp_path_factory: pytest.TempPathFactory, pg_url: str, redis_url: str) -> Iterator[Stack]:
    """The web app on a PostgreSQL database of its own (created here, dropped afterwards) and Redis."""
    server, name = pg_url.rsplit("/", 1)
    database = f"{name}_fuzz_{secrets.token_hex(2)}"
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    env = {**ROOMY, "ARCHARENA_DATABASE_URL": f"{server}/{database}", "ARCHARENA_BROKER_URL": redis_url}
    try:
        with migrated_stack(tmp_path_factory.mktemp("pg-stack"), env) as stack:
            stack.start_web()
            yield stack
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def sqlite_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with migrated_stack(tmp_path_factory.mktemp("stack"), ROOMY) as stack:
        stack.start_worker()
        stack.start_web()
        yield stack


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_openapi_fuzz_all_checks(database: str, request: pytest.FixtureRequest, output_dir: Path) -> None:
    stack: Stack = request.getfixturevalue(f"{database}_stack")
    token = stack.cli("token", "create", "fuzzer").strip()
    st = Path(sys.executable).parent / "st"
    cmd = [
        str(st),
        "run",
        f"{stack.base_url}/openapi.json",
        "--checks",
        "all",
        "--max-time",
        os.environ.get("ARCHARENA_FUZZ_SECONDS", "45"),
        "--header",
        f"Authorization: Bearer {token}",
        "--no-color",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600)
    (output_dir / f"schemathesis-{database}.txt").write_text(done.stdout + done.stderr)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:] + stack.logs()[-3000:]
