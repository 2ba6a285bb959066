"""scheduler: the quota ledger of run-seconds, and each run's projected seconds

Revision ID: 0008_scheduler
Revises: 0007
Create Date: 2026-12-05 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_scheduler"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quota_charges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("benchmark", sa.String(length=64), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("projected_seconds", sa.Float(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_quota_charges_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_quota_charges_submission_id_submissions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_quota_charges_run_id_runs"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quota_charges")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("quota_charges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quota_charges_run_id"), ["run_id"], unique=False)
        batch_op.create_index("ix_quota_charges_user_benchmark_at", ["user_id", "benchmark", "at"], unique=False)
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("projected_seconds", sa.Float(), nullable=True))
        batch_op.create_index(batch_op.f("ix_runs_finished_at"), ["finished_at"], unique=False)
    # Runs queued before this revision have no projection: the scheduler counts them at a default until they end.
    # Charges before it were counted in submissions, not seconds: the ledger starts empty.


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_runs_finished_at"))
        batch_op.drop_column("projected_seconds")
    op.drop_table("quota_charges")
