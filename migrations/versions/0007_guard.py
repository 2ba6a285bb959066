"""guard: ids never reused (SQLite AUTOINCREMENT), server-side sessions, user bans and name skeletons, soft
deletes, and a unique key that makes concurrent identical submissions one entry

Revision ID: 0007
Revises: 0006_statistics
Create Date: 2026-12-10 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.core.db.tables import dedup_key
from app.users.names import name_key

revision: str = "0007"
down_revision: str | None = "0006_statistics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Parents first: batch mode copies each table into a new one (created with AUTOINCREMENT) and renames it back.
TABLES = (
    "users", "api_tokens", "studies", "submissions", "runs", "epoch_metrics", "outbox", "audit_log", "noise_references"
)  # fmt: skip


def upgrade() -> None:
    _users()
    _submissions()
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_web_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_web_sessions_secret_hash")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_sessions_user_id"), ["user_id"], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        # migrations/env.py turns foreign keys off for SQLite: dropping the old copy of a parent table must not
        # cascade into its children.
        for table in TABLES:
            with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": True}):
                pass


def _users() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("banned_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("banned_reason", sa.Text(), nullable=True))
    bind = op.get_bind()
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("name", sa.String), sa.column("name_key"))
    taken: set[str] = set()
    for user_id, name in bind.execute(sa.select(users.c.id, users.c.name).order_by(users.c.id)).all():
        key = name_key(name)
        if key in taken:  # lookalikes that exist already both stay; the later one gets a key of its own
            key = f"{key[:50]}#{user_id}"
        taken.add(key)
        bind.execute(sa.update(users).where(users.c.id == user_id).values(name_key=key))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("name_key", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_users_name_key"), ["name_key"])


def _submissions() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dedup_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("deleted_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("deleted_reason", sa.Text(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_submissions_dedup_key"), ["dedup_key"])
        batch_op.create_index(batch_op.f("ix_submissions_deleted_at"), ["deleted_at"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_submissions_deleted_by_id_users"), "users", ["deleted_by_id"], ["id"], ondelete="SET NULL"
        )
    # The oldest visible entry of each spec holds its key (the one a duplicate joins).
    bind = op.get_bind()
    subs = sa.table(
        "submissions",
        sa.column("id", sa.Integer),
        sa.column("benchmark", sa.String),
        sa.column("spec_hash", sa.String),
        sa.column("recipe_version", sa.String),
        sa.column("hidden_reason", sa.Text),
        sa.column("dedup_key", sa.String),
    )
    rows = bind.execute(
        sa.select(subs.c.id, subs.c.benchmark, subs.c.spec_hash, subs.c.recipe_version)
        .where(subs.c.hidden_reason.is_(None))
        .order_by(subs.c.id)
    ).all()
    seen: set[str] = set()
    for sub_id, benchmark, spec_hash, recipe_version in rows:
        key = dedup_key(benchmark, recipe_version, spec_hash)
        if key not in seen:
            seen.add(key)
            bind.execute(sa.update(subs).where(subs.c.id == sub_id).values(dedup_key=key))


def downgrade() -> None:
    op.drop_table("web_sessions")
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_submissions_deleted_by_id_users"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_submissions_deleted_at"))
        batch_op.drop_constraint(batch_op.f("uq_submissions_dedup_key"), type_="unique")
        batch_op.drop_column("deleted_reason")
        batch_op.drop_column("deleted_by_id")
        batch_op.drop_column("deleted_at")
        batch_op.drop_column("dedup_key")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_users_name_key"), type_="unique")
        batch_op.drop_column("banned_reason")
        batch_op.drop_column("banned_at")
        batch_op.drop_column("name_key")
