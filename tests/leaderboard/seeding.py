"""A large board written straight into the app's own tables (bulk inserts, no training): N finished entries of
several families with 3 seeds each, their accuracies rising with log-compute plus a family offset and seed noise,
a few lineages of near-variants, and a frozen noise reference. Shared by the stored-board tests and
bench/board_scale.py."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.orm import Session

from app.benchmarks.recipes import effective_recipe_version
from app.benchmarks.registry import get_benchmark
from app.core.db.boardmarks import mark_board
from app.core.db.tables import EpochMetric, NoiseReferenceRow, Run, Submission, User
from app.stats.noise import NoiseReference

KINDS = [  # (family, mixer, accuracy offset)
    ("metaformer", "attention", 0.00), ("metaformer", "pooling", -0.01), ("metaformer", "spatial_mlp", -0.015),
    ("metaformer", "identity", -0.05), ("resnet", None, 0.01), ("plain", None, -0.02), ("convmixer", None, 0.0),
]  # fmt: skip
CHUNK = 5000


def _next_id(conn: Any, table: Any) -> int:
    return int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()) + 1


def _insert(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        conn.execute(insert(table), rows[start : start + CHUNK])


def _entry(i: int, sid: int, user_id: int, version: str, rng: random.Random, when: datetime) -> dict[str, Any]:
    family, mixer, _ = KINDS[i % len(KINDS)]
    width = 16 * (1 + (i // len(KINDS)) % 24)
    key = f"seeded-{i // 10}" if i % 10 < 3 else f"seeded-solo-{i}"  # one idea in eight tried three times
    macs = int(10 ** rng.uniform(5.0, 8.5))
    return {
        "id": sid, "user_id": user_id, "benchmark": "digits", "name": f"seeded {family} {mixer or ''} #{i}",
        "description": "", "spec": {"preset": "seeded", "i": i}, "spec_hash": f"{sid:064x}", "family": family,
        "mixer": mixer, "params": int(macs / rng.uniform(20, 200)), "macs": macs, "macs_breakdown": {},
        "recipe_version": version, "seeds_requested": 3, "status": "finished", "is_baseline": False,
        "lineage_key": key, "size_vector": {"width": float(width + i % 3)}, "train_s_per_image": macs * 3e-12,
        "created_at": when, "updated_at": when,
    }  # fmt: skip


def _runs(entry: dict[str, Any], first_run: int, rng: random.Random, offset: float) -> list[dict[str, Any]]:
    level = min(0.99, 0.6 + 0.045 * math.log10(entry["macs"]) + offset + rng.gauss(0, 0.01))
    runs = []
    for seed in range(3):
        acc = min(0.999, max(0.1, level + rng.gauss(0, 0.004)))
        runs.append({
            "id": first_run + seed, "submission_id": entry["id"], "seed": seed, "status": "finished", "attempts": 1,
            "queued_at": entry["created_at"], "finished_at": entry["created_at"], "epochs_total": 15,
            "epochs_done": 15, "train_acc": min(1.0, acc + 0.02), "val_acc": acc, "test_acc": acc,
            "test2_acc": acc - 0.1, "test_private_acc": acc + rng.gauss(0, 0.003), "train_loss": 1 - acc,
            "val_loss": 1 - acc, "test_loss": 1 - acc, "wall_seconds": 10.0, "projected_seconds": 12.0,
        })  # fmt: skip
    return runs


def _epochs(run: dict[str, Any], n: int, first: int) -> list[dict[str, Any]]:
    acc = run["test_acc"]
    return [
        {"id": first + e, "run_id": run["id"], "epoch": e + 1, "train_loss": 1.0 / (e + 1),
         "train_acc": acc * (e + 1) / n, "val_loss": 1.0 / (e + 1), "val_acc": acc * (e + 1) / n, "lr": 1e-3,
         "elapsed_s": 0.5 * (e + 1)}
        for e in range(n)
    ]  # fmt: skip


def seed_board(
    database_url: str, n: int, *, max_epochs: int | None, epochs: int = 0, seed: int = 0, mark: bool = True
) -> str:
    """Write ``n`` finished digits entries (3 runs each, ``epochs`` epoch rows per run) and a frozen noise
    reference under the recipe version ``max_epochs`` gives; the board is marked (``mark``: a schema without
    stored boards has nothing to mark). Returns the recipe version."""
    version = effective_recipe_version(get_benchmark("digits").recipe, max_epochs)
    rng = random.Random(seed)
    engine = create_engine(database_url)
    with engine.begin() as conn:
        users, subs, runs = User.__table__, Submission.__table__, Run.__table__
        first_user, first_sub, first_run = _next_id(conn, users), _next_id(conn, subs), _next_id(conn, runs)
        n_users = max(1, n // 20)
        now = datetime.now(UTC)
        _insert(conn, users, [
            {"id": first_user + u, "name": f"seeder{first_user + u}", "name_key": f"seeder{first_user + u}",
             "is_admin": False, "created_at": now}
            for u in range(n_users)
        ])  # fmt: skip
        entries = [
            _entry(i, first_sub + i, first_user + i % n_users, version, rng, now - timedelta(minutes=n - i))
            for i in range(n)
        ]
        _insert(conn, subs, entries)
        run_rows = [r for i, e in enumerate(entries) for r in _runs(e, first_run + 3 * i, rng, KINDS[i % 7][2])]
        _insert(conn, runs, run_rows)
        if epochs:
            first_epoch = _next_id(conn, EpochMetric.__table__)
            rows = [row for k, r in enumerate(run_rows) for row in _epochs(r, epochs, first_epoch + k * epochs)]
            _insert(conn, EpochMetric.__table__, rows)
        _reference(conn, version)
        _fix_sequences(conn, (users, subs, runs, EpochMetric.__table__))
        if mark:
            with Session(bind=conn) as session:
                mark_board(session, "digits", version)
    engine.dispose()
    return version


def _reference(conn: Any, version: str) -> None:
    table = NoiseReferenceRow.__table__
    found = conn.execute(
        select(table.c.id).where(table.c.benchmark == "digits", table.c.recipe_version == version)
    ).first()
    if found is None:
        ref = NoiseReference(sigma=0.004, df=30.0, n_entries=8, method="seeded reference", prior_df=8.0)
        conn.execute(
            insert(table).values(
                benchmark="digits", recipe_version=version, reference=ref.to_dict(), entry_ids=[],
                frozen_at=datetime.now(UTC),
            )
        )  # fmt: skip


def _fix_sequences(conn: Any, tables: tuple[Any, ...]) -> None:
    """PostgreSQL's sequences past the ids written here (SQLite's AUTOINCREMENT follows by itself)."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        conn.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), (SELECT MAX(id) FROM {table.name}))")
        )
