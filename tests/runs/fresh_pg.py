"""A PostgreSQL database of a test's own: the session's shared one may hold other tests' queued runs, and a test
of the fair order must see only its own."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text

from app.core.db.migrate import upgrade
from tests.conftest import PG_ADMIN_URL, START_PG, port_open, service_missing


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new, migrated database on the test server, dropped afterwards; yields its URL."""
    if not port_open("127.0.0.1", 5432):
        service_missing("PostgreSQL on 127.0.0.1:5432", START_PG)
    name = f"archarena_fair_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        from app.core.db.session import get_engine

        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
