"""meters that may export energy (prosumers): their export is not reverse flow

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("meters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("export_allowed", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("meters", schema=None) as batch_op:
        # The server default only fills existing rows; the model supplies the value from now on.
        batch_op.alter_column("export_allowed", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("meters", schema=None) as batch_op:
        batch_op.drop_column("export_allowed")
