"""statistics: frozen noise references, private test results, spec identity and full cost, study freezes

Revision ID: 0006_statistics
Revises: 0005
Create Date: 2026-12-04 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_statistics"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "noise_references",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("benchmark", sa.String(length=64), nullable=False),
        sa.Column("recipe_version", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.JSON(), nullable=False),
        sa.Column("entry_ids", sa.JSON(), nullable=False),
        sa.Column("frozen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_noise_references")),
        sa.UniqueConstraint("benchmark", "recipe_version", name=op.f("uq_noise_references_benchmark_recipe_version")),
    )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("test_private_loss", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("test_private_acc", sa.Float(), nullable=True))
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fingerprint", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("lineage_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("size_vector", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("other_ops", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("activation_bytes", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("train_s_per_image", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("deploy_params", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("deploy_macs", sa.BigInteger(), nullable=True))
        batch_op.create_index(batch_op.f("ix_submissions_fingerprint"), ["fingerprint"], unique=False)
        batch_op.create_index(batch_op.f("ix_submissions_lineage_key"), ["lineage_key"], unique=False)
    with op.batch_alter_table("studies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("frozen", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("studies", schema=None) as batch_op:
        batch_op.drop_column("frozen")
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submissions_lineage_key"))
        batch_op.drop_index(batch_op.f("ix_submissions_fingerprint"))
        for column in (
            "deploy_macs", "deploy_params", "train_s_per_image", "activation_bytes", "other_ops", "size_vector",
            "lineage_key", "fingerprint",
        ):  # fmt: skip
            batch_op.drop_column(column)
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("test_private_acc")
        batch_op.drop_column("test_private_loss")
    op.drop_table("noise_references")
