"""Consumption per meter or area, hourly to monthly, from the energy-register rollups (never the raw readings).

Buckets are UTC hours, days, ISO weeks (from Monday) and calendar months; `from` is moved back to the start of
its bucket and `to` forward to the end of its own, so every bucket is whole. A bucket is complete when every
series that should report did so for each of its hours, linked to the hour before, without a reset: then
its figure is exactly the energy of the bucket. A bucket no meter reported for carries no figure at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.enums import MeterStatus
from hes.db.store import areas as area_store
from hes.db.store import consumption as store
from hes.db.store import obis_codes
from hes.db.store.consumption import MeterScope, PeriodTotal
from hes.errors import InvalidInput, NotFound, PermissionDenied, Problem
from hes.services import areas, meters
from hes.services.energy_registers import ENERGY_REGISTERS, Direction, EnergyRegister, kwh_per_unit
from hes.services.principal import Principal

__all__ = [
    "IN_SERVICE",
    "MAX_BUCKETS",
    "ConsumptionPoint",
    "ConsumptionRequest",
    "ConsumptionSeries",
    "Interval",
    "bucket_starts",
    "consumption",
    "figures",
    "hour_summary",
    "resolve_area",
]


@dataclass(frozen=True, slots=True)
class _Register:
    """A catalogue register as stored: its description and the kWh in one of its units."""

    register: EnergyRegister
    kwh_per_unit: float


class Interval(StrEnum):
    """Bucket width of a consumption series."""

    HOURLY = "hourly"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


# One answer holds at most this many buckets (hourly: six weeks; daily: almost three years).
MAX_BUCKETS = 1000
# Without `from`, a series ends at `to` (default now) and holds this many buckets.
_DEFAULT_BUCKETS = {Interval.HOURLY: 24, Interval.DAILY: 31, Interval.WEEKLY: 12, Interval.MONTHLY: 12}
# Meters expected to report the required registers (import); stock and decommissioned meters are not.
IN_SERVICE = frozenset({MeterStatus.INSTALLED, MeterStatus.ONLINE, MeterStatus.OFFLINE, MeterStatus.FAULTY})
_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)
# kWh are given to the Wh: finer digits are float noise, not measurement.
_KWH_DIGITS = 3


@dataclass(frozen=True)
class ConsumptionRequest:
    """What the caller asked for: one meter or one area (code or name), a time range and a bucket width."""

    meter_id: int | None = None
    area: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    interval: Interval = Interval.DAILY


@dataclass(frozen=True, slots=True)
class ConsumptionPoint:
    """One bucket: energy imported and exported (kWh; None without any data), completeness and register events."""

    start: datetime
    import_kwh: float | None
    export_kwh: float | None
    complete: bool
    resets: int
    rollovers: int


@dataclass(frozen=True)
class ConsumptionSeries:
    """A consumption series of one meter or one area (with its sub-areas), bucket by bucket."""

    interval: Interval
    start: datetime
    end: datetime
    meter_id: int | None
    meter_number: str | None
    area_code: str | None
    points: tuple[ConsumptionPoint, ...]


async def consumption(
    session: AsyncSession, principal: Principal, request: ConsumptionRequest, now: datetime | None = None
) -> ConsumptionSeries:
    """The consumption series the caller asked for.

    Raises:
        InvalidInput: neither or both of meter and area, `from` not before `to`, more than MAX_BUCKETS buckets.
        NotFound: the meter or area does not exist or is not the caller's to see.
        PermissionDenied: a customer asking for an area.
    """
    starts, end = _buckets(request, now or datetime.now(UTC))
    label: tuple[int | None, str | None, str | None]
    if request.meter_id is not None:
        meter = await meters.get_meter(session, principal, request.meter_id)
        scope = MeterScope(meter_id=meter.id)
        label = (meter.id, meter.meter_number, meter.area.code if meter.area else None)
    else:
        assert request.area is not None
        code, area_ids = await resolve_area(session, principal, request.area)
        scope = MeterScope(area_ids=area_ids)
        label = (None, None, code)
    points = await figures(session, scope, request.interval, starts, end)
    meter_id, meter_number, area_code = label
    return ConsumptionSeries(request.interval, starts[0], end, meter_id, meter_number, area_code, tuple(points))


async def resolve_area(session: AsyncSession, principal: Principal, key: str) -> tuple[str, frozenset[int]]:
    """An area (code or name) the caller may see: its code, and its ids with sub-areas within the caller's areas.

    Raises:
        NotFound: no such area, or outside the caller's areas. PermissionDenied: the caller is a customer.
    """
    if principal.is_customer:
        raise PermissionDenied("customers see consumption per meter")
    area = await area_store.by_code_or_name(session, key)
    if area is None or not principal.may_see_area(area.id):
        raise NotFound("area", key)
    wanted = await areas.area_with_descendants(session, area.id)
    return area.code, wanted & principal.area_ids if principal.area_ids else wanted


def bucket_start(interval: Interval, moment: datetime) -> datetime:
    """The start of the bucket holding `moment` (UTC)."""
    moment = moment.astimezone(UTC)
    if interval is Interval.HOURLY:
        return moment.replace(minute=0, second=0, microsecond=0)
    day = datetime.combine(moment.date(), time(), UTC)
    if interval is Interval.DAILY:
        return day
    if interval is Interval.WEEKLY:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_bucket(interval: Interval, start: datetime) -> datetime:
    """The start of the bucket after the one starting at `start`."""
    if interval is Interval.HOURLY:
        return start + _HOUR
    if interval is Interval.DAILY:
        return start + _DAY
    if interval is Interval.WEEKLY:
        return start + 7 * _DAY
    return (start + 32 * _DAY).replace(day=1)


def bucket_starts(interval: Interval, start: datetime, end: datetime, limit: int = MAX_BUCKETS) -> list[datetime]:
    """Starts of the buckets covering [start, end), at most `limit` + 1 of them (more means too many)."""
    starts = [bucket_start(interval, start)]
    while (following := next_bucket(interval, starts[-1])) < end and len(starts) <= limit:
        starts.append(following)
    return starts


def _buckets(request: ConsumptionRequest, now: datetime) -> tuple[list[datetime], datetime]:
    problems: list[Problem] = []
    if (request.meter_id is None) == (request.area is None):
        problems.append(Problem("give either meterId or area", field="meterId"))
    end = request.end or now
    start = request.start
    if start is None:
        start = bucket_start(request.interval, end)
        for _ in range(_DEFAULT_BUCKETS[request.interval] - 1):
            start = bucket_start(request.interval, start - timedelta(microseconds=1))
    if start >= end:
        problems.append(Problem("'from' must be before 'to'", field="from"))
    starts = bucket_starts(request.interval, start, end) if not problems else []
    if len(starts) > MAX_BUCKETS:
        problems.append(Problem(f"at most {MAX_BUCKETS} {request.interval} buckets per request", field="from"))
    if problems:
        raise InvalidInput("invalid consumption query", problems)
    return starts, next_bucket(request.interval, starts[-1])


async def figures(
    session: AsyncSession, scope: MeterScope, interval: Interval, starts: Sequence[datetime], end: datetime
) -> list[ConsumptionPoint]:
    """One point per bucket from the rollups: hourly rows for hours, daily rows for longer buckets."""
    points, _ = await _figures(session, scope, interval, starts, end, await _registers(session))
    return points


async def _figures(
    session: AsyncSession,
    scope: MeterScope,
    interval: Interval,
    starts: Sequence[datetime],
    end: datetime,
    registers: Mapping[int, _Register],
) -> tuple[list[ConsumptionPoint], list[PeriodTotal]]:
    if not registers:
        return [ConsumptionPoint(start, None, None, False, 0, 0) for start in starts], []
    hourly = interval is Interval.HOURLY
    first: datetime | date = starts[0] if hourly else starts[0].date()
    last: datetime | date = end - _HOUR if hourly else (end - _DAY).date()
    rows = await store.totals(session, scope, list(registers), first, last, hourly=hourly)
    expected = await _expected(session, scope, registers, first, last, hourly)
    units = _units(interval, starts, end)
    by_bucket: dict[datetime, list[PeriodTotal]] = defaultdict(list)
    for row in rows:
        by_bucket[bucket_start(interval, _as_time(row.period))].append(row)
    points = [_point(start, by_bucket.get(start, []), registers, expected, units[start]) for start in starts]
    return points, rows


async def hour_summary(session: AsyncSession, scope: MeterScope, hour: datetime) -> tuple[ConsumptionPoint, int]:
    """One hour's point for `scope`, and how many meters reported a required register (import) in it."""
    registers = await _registers(session)
    (point,), rows = await _figures(session, scope, Interval.HOURLY, [hour], hour + _HOUR, registers)
    # An hour's row count per register is the number of meters that reported it.
    counts = [row.series for row in rows if registers[row.obis_id].register.required]
    return point, max(counts, default=0)


async def _registers(session: AsyncSession) -> dict[int, _Register]:
    ids = await obis_codes.ids_of(session, [register.obis for register in ENERGY_REGISTERS])
    entries = await obis_codes.entries(session, list(ids.values()))
    return {
        ids[register.obis]: _Register(register, kwh_per_unit(entries[ids[register.obis]].unit))
        for register in ENERGY_REGISTERS
        if register.obis in ids
    }


async def _expected(
    session: AsyncSession,
    scope: MeterScope,
    registers: Mapping[int, _Register],
    first: datetime | date,
    last: datetime | date,
    hourly: bool,
) -> dict[int, int]:
    """Per register, how many series must report it: those that did, plus silent in-service meters (required)."""
    expected: dict[int, int] = {}
    for obis_id, entry in registers.items():
        if entry.register.required and scope.meter_id is not None:
            expected[obis_id] = 1  # a meter asked for by name must report its import, whatever its status
            continue
        expected[obis_id] = await store.reporting_meters(session, scope, obis_id, first, last, hourly=hourly)
        if entry.register.required:
            expected[obis_id] += await store.reporting_meters(
                session, scope, obis_id, first, last, hourly=hourly, statuses=IN_SERVICE, reporting=False
            )
    return expected


def _units(interval: Interval, starts: Sequence[datetime], end: datetime) -> dict[datetime, int]:
    """How many hours (hourly) or days each bucket is made of."""
    if interval is Interval.HOURLY:
        return dict.fromkeys(starts, 1)
    bounds = [*starts[1:], end]
    return {start: (stop - start) // _DAY for start, stop in zip(starts, bounds, strict=True)}


def _point(
    start: datetime,
    rows: Sequence[PeriodTotal],
    registers: Mapping[int, _Register],
    expected: Mapping[int, int],
    unit_count: int,
) -> ConsumptionPoint:
    """Sum a bucket's rows; complete when each expected register has every hour or day complete for all series."""
    kwh: dict[Direction, float] = {}
    complete_units: dict[int, int] = defaultdict(int)
    for row in rows:
        entry = registers[row.obis_id]
        direction = entry.register.direction
        kwh[direction] = kwh.get(direction, 0.0) + row.delta * entry.kwh_per_unit
        if row.complete >= expected.get(row.obis_id, 0):
            complete_units[row.obis_id] += 1
    wanted = [obis_id for obis_id in registers if expected.get(obis_id, 0) > 0]
    complete = bool(wanted) and all(complete_units[obis_id] == unit_count for obis_id in wanted)
    return ConsumptionPoint(
        start,
        _rounded(kwh.get(Direction.IMPORT)),
        _rounded(kwh.get(Direction.EXPORT)),
        complete,
        sum(row.resets for row in rows),
        sum(row.rollovers for row in rows),
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, _KWH_DIGITS)


def _as_time(period: datetime | date) -> datetime:
    return period if isinstance(period, datetime) else datetime.combine(period, time(), UTC)
