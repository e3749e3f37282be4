"""match explanations: hits, snippet and money amounts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("match", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hits", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("snippet", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("amounts", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("match", schema=None) as batch_op:
        batch_op.drop_column("amounts")
        batch_op.drop_column("snippet")
        batch_op.drop_column("hits")
