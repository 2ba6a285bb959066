"""boards: stored boards (a snapshot per benchmark and recipe version, with its rows) and the marks that say a
board needs recomputing

Revision ID: 0009_boards
Revises: 0008_scheduler
Create Date: 2026-12-04 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_boards"
down_revision: str | None = "0008_scheduler"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "boards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("benchmark", sa.String(length=64), nullable=False),
        sa.Column("recipe_version", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("compute_seconds", sa.Float(), nullable=True),
        sa.Column("n_entries", sa.Integer(), nullable=False),
        sa.Column("meta", sa.Text(), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_boards")),
        sa.UniqueConstraint("benchmark", "recipe_version", name=op.f("uq_boards_benchmark_recipe_version")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "board_entries",
        sa.Column("board_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("family", sa.String(length=32), nullable=False),
        sa.Column("mixer", sa.String(length=32), nullable=True),
        sa.Column("params", sa.BigInteger(), nullable=False),
        sa.Column("macs", sa.BigInteger(), nullable=False),
        sa.Column("test_acc_mean", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("on_frontier", sa.Boolean(), nullable=False),
        sa.Column("search", sa.Text(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["board_id"], ["boards.id"], name=op.f("fk_board_entries_board_id_boards"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("board_id", "position", name=op.f("pk_board_entries")),
    )
    op.create_index("ix_board_entries_board_entry", "board_entries", ["board_id", "entry_id"], unique=False)
    op.create_table(
        "board_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("benchmark", sa.String(length=64), nullable=False),
        sa.Column("recipe_version", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_marks")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_board_marks_board", "board_marks", ["benchmark", "recipe_version"], unique=False)
    # Every board that has entries is marked, so that the refreshers compute it in the background after the
    # upgrade instead of its first reader.
    op.execute(
        "INSERT INTO board_marks (benchmark, recipe_version, at) "
        "SELECT DISTINCT benchmark, recipe_version, CURRENT_TIMESTAMP FROM submissions"
    )


def downgrade() -> None:
    op.drop_index("ix_board_marks_board", table_name="board_marks")
    op.drop_table("board_marks")
    op.drop_index("ix_board_entries_board_entry", table_name="board_entries")
    op.drop_table("board_entries")
    op.drop_table("boards")
