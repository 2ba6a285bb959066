"""transfer: run kinds (upstream, linear probe, fine-tune) with their parent run, and each run's stored weights

Revision ID: 0010_transfer
Revises: 0009_boards
Create Date: 2026-12-04 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_transfer"
down_revision: str | None = "0009_boards"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# SQLite rebuilds the table: keep it AUTOINCREMENT (ids never reused after a delete), as 0007 made it.
KEEP = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None, table_kwargs=KEEP) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), server_default="upstream", nullable=False))
        batch_op.add_column(sa.Column("task", sa.String(length=64), server_default="", nullable=False))
        batch_op.add_column(sa.Column("parent_run_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("weights_key", sa.String(length=255), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_runs_parent_run_id_runs"), "runs", ["parent_run_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_index(batch_op.f("ix_runs_parent_run_id"), ["parent_run_id"], unique=False)
        batch_op.drop_constraint("uq_runs_submission_id_seed", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_runs_submission_id_seed_kind_task"), ["submission_id", "seed", "kind", "task"]
        )


def downgrade() -> None:
    op.execute("DELETE FROM runs WHERE kind <> 'upstream'")
    with op.batch_alter_table("runs", schema=None, table_kwargs=KEEP) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_runs_submission_id_seed_kind_task"), type_="unique")
        batch_op.create_unique_constraint("uq_runs_submission_id_seed", ["submission_id", "seed"])
        batch_op.drop_index(batch_op.f("ix_runs_parent_run_id"))
        batch_op.drop_constraint(batch_op.f("fk_runs_parent_run_id_runs"), type_="foreignkey")
        batch_op.drop_column("weights_key")
        batch_op.drop_column("parent_run_id")
        batch_op.drop_column("task")
        batch_op.drop_column("kind")
