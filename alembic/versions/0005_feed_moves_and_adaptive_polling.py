"""feed moves and adaptive polling

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 07:58:20.297292
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fetch_url", sa.String(length=2048), nullable=True))
        batch_op.add_column(
            sa.Column("adaptive", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("adaptive")
        batch_op.drop_column("fetch_url")
