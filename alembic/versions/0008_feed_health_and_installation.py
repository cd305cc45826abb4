"""feed health (permanent errors in a row), entry content hashes, the installation id

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 02:15:00.000000
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("permanent_failures", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))
    installation = op.create_table(
        "installation",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installation")),
    )
    op.bulk_insert(installation, [{"id": uuid.uuid4().hex, "created_at": datetime.now(UTC)}])


def downgrade() -> None:
    op.drop_table("installation")
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.drop_column("content_hash")
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("permanent_failures")
