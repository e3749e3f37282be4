"""stories, alerts and the outbox

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "story",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("shingles", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_story")),
    )
    with op.batch_alter_table("story", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_story_created_at"), ["created_at"], unique=False)

    # A plain column and index: SQLite adds it with ALTER TABLE, without copying the article table.
    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.add_column(sa.Column("story_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_article_story_id"), ["story_id"], unique=False)

    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("suppressed", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["article.id"], name=op.f("fk_alert_article_id_article"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["story_id"], ["story.id"], name=op.f("fk_alert_story_id_story"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert")),
        sa.UniqueConstraint("story_id", "rule_id", name=op.f("uq_alert_story_id")),
    )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_article_id"), ["article_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_rule_id"), ["rule_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_story_id"), ["story_id"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("message_id", name=op.f("uq_outbox_message_id")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_created_at"), ["created_at"], unique=False)
        batch_op.create_index("ix_outbox_status_next", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "outbox_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("listed", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alert.id"], name=op.f("fk_outbox_alert_alert_id_alert"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name=op.f("fk_outbox_alert_outbox_id_outbox"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_alert")),
        sa.UniqueConstraint("alert_id", "channel", "recipient", name=op.f("uq_outbox_alert_alert_id")),
    )
    with op.batch_alter_table("outbox_alert", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_alert_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_alert_outbox_id"), ["outbox_id"], unique=False)


def downgrade() -> None:
    op.drop_table("outbox_alert")
    op.drop_table("outbox")
    op.drop_table("alert")
    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_article_story_id"))
        batch_op.drop_column("story_id")
    op.drop_table("story")
