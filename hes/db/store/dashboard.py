"""SQL behind the dashboard and the online-rate report: a few aggregates over meters and alerts."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from hes.db.enums import AlertStatus, MeterStatus, Severity
from hes.db.tables import Alert, Area, Meter

# Alerts someone still has to deal with.
ACTIVE_ALERTS = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)


@dataclass(frozen=True, slots=True)
class AreaRow:
    """An area as the online-rate report names it."""

    id: int
    code: str
    name: str
    parent_code: str | None


@dataclass(frozen=True, slots=True)
class OnlineCounts:
    """Meters of one area (None: meters without one): total, never seen, online now, offline."""

    area_id: int | None
    total: int
    never_online: int
    online: int
    offline: int


def _in_areas(area_ids: frozenset[int] | None) -> list[ColumnElement[bool]]:
    return [] if area_ids is None else [Meter.area_id.in_(area_ids)]


async def meters_by_status(session: AsyncSession, area_ids: frozenset[int] | None) -> dict[MeterStatus, int]:
    """How many meters (in `area_ids`; None: all) have each status."""
    rows = await session.execute(select(Meter.status, func.count()).where(*_in_areas(area_ids)).group_by(Meter.status))
    return {MeterStatus(status): int(count) for status, count in rows.tuples()}


async def active_alerts_by_severity(session: AsyncSession, area_ids: frozenset[int] | None) -> dict[Severity, int]:
    """Open and acknowledged alerts per severity; limited to meters in `area_ids` unless None (then all alerts)."""
    query: Any = select(Alert.severity, func.count()).where(Alert.status.in_(ACTIVE_ALERTS))
    if area_ids is not None:
        # An alert about no meter is in no area: only callers who see every area count it.
        query = query.join(Meter, Meter.id == Alert.meter_id).where(Meter.area_id.in_(area_ids))
    rows = await session.execute(query.group_by(Alert.severity))
    return {Severity(severity): int(count) for severity, count in rows.tuples()}


async def online_counts(
    session: AsyncSession, area_ids: frozenset[int] | None, statuses: Collection[MeterStatus]
) -> list[OnlineCounts]:
    """Per area, of the meters whose status is in `statuses`: total, never seen, online, offline."""
    rows = await session.execute(
        select(
            Meter.area_id,
            func.count(),
            func.sum(case((Meter.last_seen_at.is_(None), 1), else_=0)),
            func.sum(case((Meter.status == MeterStatus.ONLINE, 1), else_=0)),
            func.sum(case((Meter.status == MeterStatus.OFFLINE, 1), else_=0)),
        )
        .where(Meter.status.in_(statuses), *_in_areas(area_ids))
        .group_by(Meter.area_id)
    )
    return [
        OnlineCounts(area_id, int(total), int(never), int(online), int(offline))
        for area_id, total, never, online, offline in rows.tuples()
    ]


async def areas(session: AsyncSession, area_ids: frozenset[int] | None) -> list[AreaRow]:
    """The areas with these ids (None: every area), by code, with their parent's code."""
    parent = aliased(Area)
    query = select(Area.id, Area.code, Area.name, parent.code).outerjoin(parent, parent.id == Area.parent_id)
    if area_ids is not None:
        query = query.where(Area.id.in_(area_ids))
    rows = await session.execute(query.order_by(Area.code))
    return [AreaRow(*row) for row in rows.tuples()]
