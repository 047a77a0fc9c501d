"""SQL for meters as senders of data: who a meter number is, and the marks a contact leaves (last seen, online)."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, any_, bindparam, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.enums import MeterStatus
from hes.db.tables import Area, Meter

_METERS = cast(Table, Meter.__table__)
# A contact proves a meter in the field is alive; these statuses become online. Stock (warehouse), faulty and
# decommissioned meters keep the status a person gave them, whatever they send.
_COMES_ONLINE = (MeterStatus.OFFLINE, MeterStatus.INSTALLED)
# last_seen_at is kept to this resolution: a contact within it of the stored one leaves the row alone. Rewriting a
# meter's row costs more than storing its readings (measured: ~6.5 us a row on PostgreSQL), and a meter often sends
# several messages at once (a reading per MQTT message, readings and events, a gateway's backlog in batches);
# online status is judged in minutes.
SEEN_RESOLUTION = timedelta(seconds=10)
# SQLite allows 32,766 bound parameters per statement; chunks stay well below it.
_SQLITE_CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class MeterRef:
    """What the ingest path needs to know about a meter: id, number, concentrator and area code."""

    id: int
    meter_number: str
    concentrator_id: str | None
    area_code: str | None


async def by_numbers(session: AsyncSession, numbers: Collection[str]) -> list[MeterRef]:
    """The meters with exactly these numbers (numbers no meter has are left out)."""
    found: list[MeterRef] = []
    for chunk in _chunks(session, list(numbers)):
        found += await _refs(session, _among(session, _METERS.c.meter_number, chunk))
    return found


async def by_ids(session: AsyncSession, meter_ids: Collection[int]) -> list[MeterRef]:
    """The meters with these ids (ids no meter has are left out)."""
    found: list[MeterRef] = []
    for chunk in _chunks(session, list(meter_ids)):
        found += await _refs(session, _among(session, _METERS.c.id, chunk))
    return found


async def mark_seen(session: AsyncSession, meter_ids: Sequence[int], seen_at: datetime) -> list[int]:
    """Record a contact from these meters at `seen_at` (no commit); return the ids that came online by it.

    last_seen_at only moves forward, so a late batch never makes a meter look older, and only by more than
    SEEN_RESOLUTION, so a burst of contacts writes the row once. An offline or
    installed meter becomes online; other statuses are left alone. Rows are locked in id order, the same
    order every writer uses, so two writers touching the same meters wait for each other instead of
    deadlocking.
    """
    ordered = sorted(set(meter_ids))
    came_online: list[int] = []
    for chunk in _chunks(session, ordered):
        among = _among(session, _METERS.c.id, chunk)
        # updated_at is set to itself: a contact is not an edit of the meter record.
        flipped = await session.execute(
            update(_METERS)
            .where(among, _METERS.c.status.in_(_COMES_ONLINE))
            .values(status=MeterStatus.ONLINE, updated_at=_METERS.c.updated_at)
            .returning(_METERS.c.id)
        )
        came_online += flipped.scalars()
        await session.execute(
            update(_METERS)
            .where(among, (_METERS.c.last_seen_at.is_(None)) | (_METERS.c.last_seen_at < seen_at - SEEN_RESOLUTION))
            .values(last_seen_at=seen_at, updated_at=_METERS.c.updated_at)
        )
    return sorted(came_online)


async def _refs(session: AsyncSession, condition: ColumnElement[bool]) -> list[MeterRef]:
    rows = await session.execute(
        select(_METERS.c.id, _METERS.c.meter_number, _METERS.c.concentrator_id, Area.code)
        .outerjoin(Area, Area.id == _METERS.c.area_id)
        .where(condition)
    )
    return [MeterRef(*row) for row in rows.tuples()]


def _among(session: AsyncSession, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    # On PostgreSQL one array parameter instead of thousands of placeholders.
    if session.get_bind().dialect.name == "postgresql":
        return cast(ColumnElement[bool], column == any_(bindparam(None, list(values), type_=ARRAY(column.type))))
    return cast(ColumnElement[bool], column.in_(values))


def _chunks(session: AsyncSession, values: list[Any]) -> Iterator[list[Any]]:
    if session.get_bind().dialect.name == "postgresql":
        if values:
            yield values
        return
    for first in range(0, len(values), _SQLITE_CHUNK):
        yield values[first : first + _SQLITE_CHUNK]
