"""knowledge base: screening-list parties, their loads, and articles' document type

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kb_parties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("alt_names", sa.JSON(), nullable=False),
        sa.Column("countries", sa.JSON(), nullable=False),
        sa.Column("programs", sa.JSON(), nullable=False),
        sa.Column("federal_register_notice", sa.String(length=300), nullable=True),
        sa.Column("start_date", sa.String(length=40), nullable=True),
        sa.Column("license_requirement", sa.Text(), nullable=True),
        sa.Column("license_policy", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_parties")),
        sa.UniqueConstraint("key", name=op.f("uq_kb_parties_key")),
    )
    op.create_index(op.f("ix_kb_parties_source"), "kb_parties", ["source"])
    op.create_index(op.f("ix_kb_parties_removed_at"), "kb_parties", ["removed_at"])
    op.create_table(
        "kb_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=2048), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("parties", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_updates")),
    )
    op.create_index(op.f("ix_kb_updates_loaded_at"), "kb_updates", ["loaded_at"])
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("doctype", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("doctype")
    op.drop_index(op.f("ix_kb_updates_loaded_at"), table_name="kb_updates")
    op.drop_table("kb_updates")
    op.drop_index(op.f("ix_kb_parties_removed_at"), table_name="kb_parties")
    op.drop_index(op.f("ix_kb_parties_source"), table_name="kb_parties")
    op.drop_table("kb_parties")
