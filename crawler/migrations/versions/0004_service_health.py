"""service: crawl-run health counts, site health, heartbeats

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("crawl_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stats", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("worker", sa.String(length=255), nullable=True))

    op.create_table(
        "site_health",
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_site_health")),
    )
    op.create_table(
        "service_heartbeat",
        sa.Column("instance", sa.String(length=255), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False, server_default="{}"),
        sa.PrimaryKeyConstraint("instance", name=op.f("pk_service_heartbeat")),
    )
    with op.batch_alter_table("service_heartbeat", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_heartbeat_beat_at"), ["beat_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("service_heartbeat", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_heartbeat_beat_at"))
    op.drop_table("service_heartbeat")
    op.drop_table("site_health")
    with op.batch_alter_table("crawl_run", schema=None) as batch_op:
        batch_op.drop_column("worker")
        batch_op.drop_column("stats")
