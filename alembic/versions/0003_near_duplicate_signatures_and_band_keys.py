"""near-duplicate signatures and band keys

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 07:34:58.601818
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "article_bands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("band_key", sa.BigInteger(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_bands_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_bands")),
    )
    with op.batch_alter_table("article_bands", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_article_bands_article_id"), ["article_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_article_bands_band_key"), ["band_key"], unique=False)

    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signature", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("shingle_count", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_column("shingle_count")
        batch_op.drop_column("signature")

    with op.batch_alter_table("article_bands", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_article_bands_band_key"))
        batch_op.drop_index(batch_op.f("ix_article_bands_article_id"))

    op.drop_table("article_bands")
