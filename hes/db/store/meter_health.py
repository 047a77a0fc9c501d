"""SQL for a meter's communication health on its row: last seen, last success, consecutive failures, round trip."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement, Integer, Table, bindparam, case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.tables import Meter
from hes.db.types import UTCDateTime

_METERS = cast(Table, Meter.__table__)
# Ids per IN list: well below the bound-parameter limits of asyncpg (32,767) and SQLite (32,766).
_IDS_PER_QUERY = 5_000


@dataclass(frozen=True, slots=True)
class HealthChange:
    """What a batch of collection attempts does to one meter's row.

    `succeeded_at` is the newest success in the batch (None: only failures); `failures` counts the failures
    after it (all of them when there was no success); `round_trip_ms` is the newest measured round trip.
    """

    meter_id: int
    succeeded_at: datetime | None
    failures: int
    round_trip_ms: int | None


async def existing_meters(session: AsyncSession, meter_ids: Collection[int]) -> set[int]:
    """Those of `meter_ids` that exist; on PostgreSQL their rows are locked, in id order, until the commit.

    Locking in one order first keeps concurrent writers of the same meters (another batch, the ingest path's
    last-seen update) from deadlocking on the UPDATE that follows.
    """
    wanted = sorted(set(meter_ids))
    found: set[int] = set()
    lock = session.get_bind().dialect.name == "postgresql"
    for first in range(0, len(wanted), _IDS_PER_QUERY):
        query = select(Meter.id).where(Meter.id.in_(wanted[first : first + _IDS_PER_QUERY])).order_by(Meter.id)
        found.update(await session.scalars(query.with_for_update() if lock else query))
    return found


async def apply(session: AsyncSession, changes: Sequence[HealthChange]) -> None:
    """Write `changes` to the meters' rows in one executemany (no commit).

    Last seen and last success only move forward; a success resets the failure count to the failures after it,
    failures alone add to it; a round trip is kept until a newer one is measured.
    """
    if not changes:
        return
    succeeded_at = bindparam("b_succeeded_at", type_=UTCDateTime)
    failures = bindparam("b_failures", type_=Integer)
    statement = (
        update(_METERS)
        .where(_METERS.c.id == bindparam("b_meter_id"))
        .values(
            last_seen_at=_forward_only(_METERS.c.last_seen_at, succeeded_at),
            last_success_at=_forward_only(_METERS.c.last_success_at, succeeded_at),
            consecutive_failures=case(
                (succeeded_at.is_(None), _METERS.c.consecutive_failures + failures), else_=failures
            ),
            last_round_trip_ms=case(
                (bindparam("b_round_trip_ms", type_=Integer).is_(None), _METERS.c.last_round_trip_ms),
                else_=bindparam("b_round_trip_ms", type_=Integer),
            ),
            # Communication is not an edit of the meter's record: updated_at stays the register's.
            updated_at=_METERS.c.updated_at,
        )
    )
    rows = [
        {
            "b_meter_id": change.meter_id,
            "b_succeeded_at": change.succeeded_at,
            "b_failures": change.failures,
            "b_round_trip_ms": change.round_trip_ms,
        }
        for change in sorted(changes, key=lambda change: change.meter_id)
    ]
    await session.execute(statement, rows)


def _forward_only(column: ColumnElement[datetime], moment: ColumnElement[datetime]) -> ColumnElement[datetime]:
    """`moment` when it is newer than what `column` holds, else the column unchanged (portable GREATEST)."""
    return case(
        (moment.is_(None), column),
        (or_(column.is_(None), column < moment), moment),
        else_=column,
    )
