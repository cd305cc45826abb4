"""story updates and alert times

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 01:53:53.965855
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "story_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_story_updates_alert_id_alerts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_story_updates")),
    )
    with op.batch_alter_table("story_updates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_story_updates_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index(
            "ix_story_updates_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "update_articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("update_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("new_facts", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_update_articles_alert_id_alerts")
        ),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_update_articles_article_id_articles")
        ),
        sa.ForeignKeyConstraint(
            ["update_id"],
            ["story_updates.id"],
            name=op.f("fk_update_articles_update_id_story_updates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_update_articles")),
        sa.UniqueConstraint(
            "alert_id", "article_id", name=op.f("uq_update_articles_alert_id_article_id")
        ),
    )
    with op.batch_alter_table("update_articles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_update_articles_update_id"), ["update_id"], unique=False
        )

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("thread_ref", sa.String(length=300), nullable=True))

    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_articles_alerted_at"), ["alerted_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_articles_alerted_at"))
        batch_op.drop_column("alerted_at")
        batch_op.drop_column("first_seen_at")

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("thread_ref")

    with op.batch_alter_table("update_articles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_update_articles_update_id"))

    op.drop_table("update_articles")
    with op.batch_alter_table("story_updates", schema=None) as batch_op:
        batch_op.drop_index("ix_story_updates_status_next_attempt_at")
        batch_op.drop_index(batch_op.f("ix_story_updates_alert_id"))

    op.drop_table("story_updates")
