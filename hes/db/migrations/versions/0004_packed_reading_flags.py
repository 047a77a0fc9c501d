"""readings: quality and source packed into one smallint, flags

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

A stored reading becomes (meter_id int4, obis_id int2, flags int2, ts, value float8): 24 bytes of data
with no alignment padding before the timestamp, 93 instead of 101 bytes per reading with the primary key
(measured, 8 M time-major rows). flags = source << 8 | quality, the layout of
`hes.db.store.reading_flags` at this revision; it is written out here because a migration keeps the
format of its own revision whatever the code does later.

The table is rebuilt, not altered: a column dropped with ALTER TABLE keeps its place in every stored
row, and one added goes last, after the float8. On PostgreSQL every partition (DEFAULT and monthly)
comes back with its name, bounds and storage parameters and its own rows; the primary key is built
once the rows are in (one sorted build per partition, denser than inserting into the index). On
SQLite the WITHOUT ROWID table is copied into a new one that takes its name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PACKED_COLUMNS = """
    meter_id integer NOT NULL,
    obis_id smallint NOT NULL,
    flags smallint NOT NULL DEFAULT 0,
    ts timestamptz NOT NULL,
    value double precision NOT NULL
"""
_PACK = "meter_id, obis_id, (source << 8) | quality, ts, value"
_SEPARATE_COLUMNS = """
    meter_id integer NOT NULL,
    obis_id smallint NOT NULL,
    ts timestamptz NOT NULL,
    value double precision NOT NULL,
    quality smallint NOT NULL DEFAULT 0,
    source smallint NOT NULL DEFAULT 0
"""
_UNPACK = "meter_id, obis_id, ts, value, flags & 255, flags >> 8"
_PRIMARY_KEY = "CONSTRAINT pk_readings PRIMARY KEY (meter_id, obis_id, ts)"
# The tables being replaced are renamed out of the way (their names go to the new ones), then dropped.
_RETIRED = "retired_"
_REBUILT = "readings_rebuilt"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _rebuild_postgresql(_PACKED_COLUMNS, _PACK)
        return
    _rebuild_sqlite(
        [
            sa.Column("meter_id", sa.Integer(), nullable=False),
            sa.Column("obis_id", sa.SmallInteger(), nullable=False),
            sa.Column("flags", sa.SmallInteger(), nullable=False, server_default="0"),
            sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
            sa.Column("value", sa.Double(), nullable=False),
        ],
        _PACK,
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _rebuild_postgresql(_SEPARATE_COLUMNS, _UNPACK)
        return
    _rebuild_sqlite(
        [
            sa.Column("meter_id", sa.Integer(), nullable=False),
            sa.Column("obis_id", sa.SmallInteger(), nullable=False),
            sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
            sa.Column("value", sa.Double(), nullable=False),
            sa.Column("quality", sa.SmallInteger(), nullable=False, server_default="0"),
            sa.Column("source", sa.SmallInteger(), nullable=False, server_default="0"),
        ],
        _UNPACK,
    )


def _rebuild_postgresql(columns: str, copied: str) -> None:
    """Replace `readings` and each of its partitions by one with `columns`, filled with `copied` of the old rows."""
    partitions = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), c.reloptions "
                "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'readings'::regclass ORDER BY c.relname"
            )
        )
        .tuples()
        .all()
    )
    # Dropping the old key drops its index on every partition, whose names the new key's indexes take.
    op.execute("ALTER TABLE readings DROP CONSTRAINT pk_readings")
    op.execute(f"ALTER TABLE readings RENAME TO {_RETIRED}readings")
    for name, _bound, _options in partitions:
        op.execute(f"ALTER TABLE {name} RENAME TO {_RETIRED}{name}")
    op.execute(f"CREATE TABLE readings ({columns}) PARTITION BY RANGE (ts)")
    for name, bound, options in partitions:
        # The bound as PostgreSQL prints it ("DEFAULT", or FOR VALUES with offsets): it reads back the same.
        storage = f" WITH ({', '.join(options)})" if options else ""
        op.execute(f"CREATE TABLE {name} PARTITION OF readings {bound}{storage}")
        op.execute(f"INSERT INTO {name} SELECT {copied} FROM {_RETIRED}{name}")
    op.execute(f"ALTER TABLE readings ADD {_PRIMARY_KEY}")
    op.execute(f"DROP TABLE {_RETIRED}readings")


def _rebuild_sqlite(columns: Sequence[sa.Column[Any]], copied: str) -> None:
    """Replace the WITHOUT ROWID `readings` by one with `columns`, filled with `copied` of the old rows."""
    op.create_table(
        _REBUILT,
        *columns,
        sa.PrimaryKeyConstraint("meter_id", "obis_id", "ts", name=op.f("pk_readings")),
        sqlite_with_rowid=False,
    )
    op.execute(f"INSERT INTO {_REBUILT} SELECT {copied} FROM readings")
    op.drop_table("readings")
    op.rename_table(_REBUILT, "readings")
