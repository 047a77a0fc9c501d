"""consumption rollups: hourly and daily energy-register advances per meter

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consumption_hourly",
        sa.Column("meter_id", sa.Integer(), nullable=False),
        sa.Column("obis_id", sa.SmallInteger(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_value", sa.Double(), nullable=False),
        sa.Column("last_value", sa.Double(), nullable=False),
        sa.Column("delta", sa.Double(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("resets", sa.SmallInteger(), nullable=False),
        sa.Column("rollovers", sa.SmallInteger(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("meter_id", "obis_id", "hour", name=op.f("pk_consumption_hourly")),
    )
    with op.batch_alter_table("consumption_hourly", schema=None) as batch_op:
        batch_op.create_index("ix_consumption_hourly_hour", ["hour"], unique=False)
    op.create_table(
        "consumption_daily",
        sa.Column("meter_id", sa.Integer(), nullable=False),
        sa.Column("obis_id", sa.SmallInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("delta", sa.Double(), nullable=False),
        sa.Column("hours", sa.SmallInteger(), nullable=False),
        sa.Column("resets", sa.SmallInteger(), nullable=False),
        sa.Column("rollovers", sa.SmallInteger(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("meter_id", "obis_id", "day", name=op.f("pk_consumption_daily")),
    )
    with op.batch_alter_table("consumption_daily", schema=None) as batch_op:
        batch_op.create_index("ix_consumption_daily_day", ["day"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("consumption_daily", schema=None) as batch_op:
        batch_op.drop_index("ix_consumption_daily_day")
    op.drop_table("consumption_daily")
    with op.batch_alter_table("consumption_hourly", schema=None) as batch_op:
        batch_op.drop_index("ix_consumption_hourly_hour")
    op.drop_table("consumption_hourly")
