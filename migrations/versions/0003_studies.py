"""studies (one varied axis of a base spec) and submissions.study_id

Revision ID: 0003_studies
Revises: 0002
Create Date: 2026-11-28 17:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_studies"
down_revision: str | None = "0003_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "studies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("benchmark", sa.String(length=64), nullable=False),
        sa.Column("axis", sa.String(length=16), nullable=False),
        sa.Column("match", sa.String(length=8), nullable=True),
        sa.Column("seeds", sa.Integer(), nullable=False),
        sa.Column("base_spec", sa.JSON(), nullable=False),
        sa.Column("variants", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_studies_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_studies")),
    )
    with op.batch_alter_table("studies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_studies_benchmark"), ["benchmark"], unique=False)
        batch_op.create_index(batch_op.f("ix_studies_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("study_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_submissions_study_id"), ["study_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_submissions_study_id_studies"), "studies", ["study_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_submissions_study_id_studies"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_submissions_study_id"))
        batch_op.drop_column("study_id")
    with op.batch_alter_table("studies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_studies_user_id"))
        batch_op.drop_index(batch_op.f("ix_studies_benchmark"))
    op.drop_table("studies")
