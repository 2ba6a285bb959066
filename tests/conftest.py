"""Shared fixtures: settings for a throw-away SQLite stack, and the real Postgres/Redis of this machine.

Where PostgreSQL or Redis do not answer, the tests that need them skip with a reason saying how to start them;
ARCHARENA_REQUIRE_SERVICES=1 (set by .ci/run) turns that skip into a failure."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.db.migrate import upgrade
from app.main import create_app
from app.specs import measuring

PG_ADMIN_URL = os.environ.get("ARCHARENA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_HOST, REDIS_PORT = "127.0.0.1", int(os.environ.get("ARCHARENA_TEST_REDIS_PORT", "6379"))
START_PG = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
START_REDIS = "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no"


def service_missing(what: str, how: str) -> None:
    message = f"{what} is not answering; start it with: {how}"
    if os.environ.get("ARCHARENA_REQUIRE_SERVICES") == "1":
        pytest.fail(message)
    pytest.skip(message)


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def demo_settings(home: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {"home": home, "data_dir": home / "data", "max_epochs": 2, "queue": "test"}
    values["measure_processes"] = 0  # in-process apps measure in the request thread: no pool to spawn per test
    values["transfer_runs"] = False  # downstream runs only where a test asks for them (tests/transfer)
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    settings = demo_settings(tmp_path)
    settings.ensure_dirs()
    upgrade(settings.database_url)
    return settings


@pytest.fixture
def client(sqlite_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(sqlite_settings)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    if not port_open("127.0.0.1", 5432):
        service_missing("PostgreSQL on 127.0.0.1:5432", START_PG)
    from sqlalchemy import create_engine, text

    name = f"archarena_test_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        from app.core.db.session import get_engine

        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis database number for this run, emptied afterwards."""
    if not port_open(REDIS_HOST, REDIS_PORT):
        service_missing(f"Redis on {REDIS_HOST}:{REDIS_PORT}", START_REDIS)
    import redis

    db = 1 + secrets.randbelow(15)
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db)
    client.flushdb()
    try:
        yield f"redis://{REDIS_HOST}:{REDIS_PORT}/{db}"
    finally:
        client.flushdb()
        client.close()


S3_ENDPOINT_ENV = "ARCHARENA_TEST_S3_ENDPOINT"  # .ci/run starts moto's server and exports it
S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def _s3_answers(endpoint: str) -> bool:
    import httpx

    try:
        return httpx.get(endpoint, timeout=2).status_code < 500
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3-speaking server: the one .ci/run started (``ARCHARENA_TEST_S3_ENDPOINT``), else moto's standalone
    server started here for the session (readiness by polling). Its fake credentials go into the environment."""
    import subprocess
    import sys
    import time

    for key, value in S3_CREDENTIALS.items():
        os.environ.setdefault(key, value)
    given = os.environ.get(S3_ENDPOINT_ENV)
    if given:
        if not _s3_answers(given):
            service_missing(f"the S3 server at {given}", "python -m moto.server -H 127.0.0.1 -p PORT")
        yield given
        return
    try:
        import moto.server  # noqa: F401
    except ImportError:
        service_missing("an S3-speaking server (moto)", "pip install 'moto[server]' (the dev extra)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not _s3_answers(endpoint):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("moto's S3 server did not start")
            time.sleep(0.1)
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
def s3_url(s3_endpoint: str) -> str:
    """A fresh bucket on the S3 server; the weights store URL of a prefix in it."""
    import s3fs

    bucket = f"archarena-test-{secrets.token_hex(4)}"
    s3fs.S3FileSystem(client_kwargs={"endpoint_url": s3_endpoint}).mkdir(bucket)
    return f"s3://{bucket}/weights"


@pytest.fixture
def pg_settings(tmp_path: Path, pg_url: str, redis_url: str) -> Settings:
    """Settings on this session's PostgreSQL database (migrated) and Redis, with a broker queue of their own."""
    upgrade(pg_url)
    return demo_settings(tmp_path, database_url=pg_url, broker_url=redis_url, queue=f"test-{secrets.token_hex(3)}")


def freeze_reference(settings: Settings, benchmark: str = "digits", sigma: float = 0.01) -> None:
    """A frozen platform noise reference for the benchmark's recipe version under ``settings`` (tests train capped
    recipes, for which the platform has no reference entries)."""
    from app.benchmarks.recipes import effective_recipe_version
    from app.benchmarks.registry import get_benchmark
    from app.core.db.session import session_scope
    from app.entries import repository as entries_repo
    from app.stats.noise import NoiseReference

    ref = NoiseReference(sigma=sigma, df=20.0, n_entries=8, method="test reference", prior_df=8.0)
    version = effective_recipe_version(get_benchmark(benchmark).recipe, settings.max_epochs)
    with session_scope(settings.database_url) as session:
        entries_repo.add_noise_reference(session, benchmark, version, ref.to_dict(), [])


@pytest.fixture(params=["sqlite", "postgres"])
def db_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings on a migrated SQLite file, then on this session's PostgreSQL database (and Redis): a test that
    takes this fixture runs on both."""
    if request.param == "sqlite":
        settings: Settings = request.getfixturevalue("sqlite_settings")
        return settings
    pg: Settings = request.getfixturevalue("pg_settings")
    # The session's Redis holds the rate limits of every test's app: the shared "testclient" address must not
    # run out of budget because of other tests.
    unlimited = {"rate_limit_per_minute": 100_000, "signups_per_hour": 100_000, "auth_attempts_per_minute": 100_000}
    return pg.model_copy(update=unlimited)


@pytest.fixture
def roomy_measuring() -> Iterator[None]:
    """In-thread measuring with room for every thread of a race (the default cap is for a web process: two
    measurements in flight, the rest refused with 503 — a race of 8 threads on a busy machine would meet it)."""
    measuring.configure(0, concurrency=32)
    try:
        yield
    finally:
        measuring.configure(0)
