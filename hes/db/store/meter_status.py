"""SQL for the online/offline check: conditional status flips that return the meters they changed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.enums import ConnectionMode, MeterStatus
from hes.db.tables import Area, Meter, utc_now


@dataclass(frozen=True, slots=True)
class Deadline:
    """Meters sharing one expected interval, and the moment before which their last contact is overdue.

    Either `interval_s` (meters whose own expected_interval_s is that) or `mode` (meters without their own
    interval, on that connection mode) is set.
    """

    cutoff: datetime
    interval_s: int | None = None
    mode: ConnectionMode | None = None


@dataclass(frozen=True, slots=True)
class FlippedMeter:
    """A meter whose status a flip changed, as it is after the change."""

    meter_id: int
    meter_number: str
    area_id: int | None
    last_seen_at: datetime | None
    expected_interval_s: int | None
    connection_mode: ConnectionMode


async def explicit_intervals(session: AsyncSession, statuses: Iterable[MeterStatus]) -> list[int]:
    """The distinct expected_interval_s values set on meters in `statuses` (a handful in practice)."""
    rows = await session.scalars(
        select(Meter.expected_interval_s)
        .where(Meter.status.in_(list(statuses)), Meter.expected_interval_s.is_not(None))
        .distinct()
    )
    return sorted(value for value in rows if value is not None)


async def flip(
    session: AsyncSession,
    *,
    from_status: MeterStatus,
    to_status: MeterStatus,
    deadlines: Sequence[Deadline],
    overdue: bool,
    never_seen: bool = False,
) -> list[FlippedMeter]:
    """Set `to_status` on meters in `from_status` whose last contact is overdue (or, with `overdue` false, recent).

    `never_seen` also flips meters with no contact at all. The condition is evaluated by the UPDATE itself, so a
    meter that ingest touched in the meantime is not flipped on stale information. No commit.
    """
    matches = [_matches(deadline, overdue) for deadline in deadlines]
    if never_seen:
        matches.append(Meter.last_seen_at.is_(None))
    if not matches:
        return []
    statement = (
        update(Meter)
        .where(Meter.status == from_status, or_(*matches))
        .values(status=to_status, updated_at=utc_now())
        .returning(
            Meter.id,
            Meter.meter_number,
            Meter.area_id,
            Meter.last_seen_at,
            Meter.expected_interval_s,
            Meter.connection_mode,
        )
        .execution_options(synchronize_session=False)
    )
    rows = await session.execute(statement)
    return [FlippedMeter(*row) for row in rows]


async def area_codes(session: AsyncSession, area_ids: Iterable[int]) -> dict[int, str]:
    """The code of each of `area_ids`."""
    wanted = set(area_ids)
    if not wanted:
        return {}
    rows = await session.execute(select(Area.id, Area.code).where(Area.id.in_(wanted)))
    return {area_id: code for area_id, code in rows.tuples()}


def _matches(deadline: Deadline, overdue: bool) -> ColumnElement[bool]:
    if deadline.interval_s is not None:
        group = Meter.expected_interval_s == deadline.interval_s
    else:
        group = and_(Meter.expected_interval_s.is_(None), Meter.connection_mode == deadline.mode)
    seen = Meter.last_seen_at < deadline.cutoff if overdue else Meter.last_seen_at >= deadline.cutoff
    return and_(group, seen)
