"""Migration 0007 on a database with data: every row survives the SQLite table rebuilds (no cascade), names get
their skeletons (existing lookalikes both stay), and the oldest visible entry of each spec gets its key."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app.core.db.migrate import upgrade
from app.core.db.tables import dedup_key

ROWS = [
    "INSERT INTO users (id, name, is_admin, created_at) VALUES (1, 'Alice', false, '2026-01-01')",
    "INSERT INTO users (id, name, is_admin, created_at) VALUES (2, 'alice', false, '2026-01-01')",
    *(
        "INSERT INTO submissions (id, user_id, benchmark, name, description, spec, spec_hash, family, params, macs, "
        f"macs_breakdown, recipe_version, seeds_requested, status, is_baseline, created_at, updated_at) VALUES ({i}, "
        f"1, 'digits', 's{i}', '', '{{}}', 'h', 'plain', 1, 1, '{{}}', 'v1', 1, 'finished', false, '2026-01-01', "
        "'2026-01-01')"
        for i in (1, 2)
    ),
    "INSERT INTO runs (id, submission_id, seed, status, attempts, queued_at, epochs_done) "
    "VALUES (7, 1, 0, 'finished', 1, '2026-01-01', 1)",
    "INSERT INTO epoch_metrics (id, run_id, epoch, train_loss, train_acc, val_loss, val_acc, lr, elapsed_s) "
    "VALUES (3, 7, 1, 1, 0.5, 1, 0.5, 0.1, 1)",
    "INSERT INTO audit_log (id, at, actor_id, action, target_kind, target_id, reason, details) "
    "VALUES (5, '2026-01-01', 1, 'flag', 'submission', 1, 'r', '{}')",
]


@pytest.mark.parametrize("db", ["sqlite", "postgres"])
def test_upgrading_a_populated_database_keeps_every_row(
    db: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if db == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    else:
        base: str = request.getfixturevalue("pg_url")
        admin = create_engine(base.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
        name = f"{base.rsplit('/', 1)[1]}_mig"
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = base.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url, "0005")
    engine = create_engine(url)
    with engine.begin() as conn:
        for row in ROWS:
            conn.execute(text(row))
    engine.dispose()
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        counts = {t: conn.scalar(text(f"SELECT count(*) FROM {t}")) for t in ("users", "submissions", "runs",
                  "epoch_metrics", "audit_log")}  # fmt: skip
        keys = dict(conn.execute(text("SELECT name, name_key FROM users")).all())
        dedup = dict(conn.execute(text("SELECT id, dedup_key FROM submissions")).all())
    engine.dispose()
    assert counts == {"users": 2, "submissions": 2, "runs": 1, "epoch_metrics": 1, "audit_log": 1}
    assert keys == {"Alice": "allce", "alice": "allce#2"}
    assert dedup == {1: dedup_key("digits", "v1", "h"), 2: None}  # the oldest of the two identical entries
    if db == "postgres":
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
