"""SQL for talking to meters: how to reach them, which are due for polling, counters, and what is already stored."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Integer,
    Table,
    and_,
    bindparam,
    false,
    func,
    literal,
    select,
    true,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.enums import ConnectionMode, DlmsAuthentication, DlmsTransport, EventCategory, MeterStatus
from hes.db.tables import Event, Meter, Reading, SimCard

__all__ = [
    "SPREAD_MULTIPLIER",
    "GroupFilter",
    "MeterLinkRow",
    "due_meters",
    "last_meter_events",
    "last_profile_intervals",
    "link_rows",
    "meter_ids",
    "profile_times",
    "raise_invocation_counters",
    "spread_offset",
]

_METERS = cast(Table, Meter.__table__)
# Ids per IN list: well below the bound-parameter limits of asyncpg (32,767) and SQLite (32,766).
_IDS_PER_QUERY = 5_000
# Knuth's multiplicative hash (2^32 / golden ratio): spreads consecutive meter ids evenly over an interval.
SPREAD_MULTIPLIER = 2_654_435_761
_SPREAD_MODULUS = 2**32


@dataclass(frozen=True, slots=True)
class MeterLinkRow:
    """A meter's record as far as a DLMS session needs it; the secrets stay sealed."""

    id: int
    meter_number: str
    brand: str | None
    area_id: int | None
    status: MeterStatus
    connection_mode: ConnectionMode
    ip_address: str | None
    port: int | None
    sim_ip_address: str | None
    transport: DlmsTransport
    client_address: int
    server_address: int
    physical_address: int | None
    authentication: DlmsAuthentication
    password_enc: bytes | None = field(default=None, repr=False)
    authentication_key_enc: bytes | None = field(default=None, repr=False)
    block_cipher_key_enc: bytes | None = field(default=None, repr=False)
    invocation_counter: int = 0


@dataclass(frozen=True, slots=True)
class GroupFilter:
    """Meters of a polling group: a brand (lower case) and/or a set of areas; neither: every meter."""

    brand: str | None = None
    area_ids: frozenset[int] | None = None


def spread_offset(meter_id: int, interval: int) -> int:
    """Where in each `interval` (seconds) a meter is polled: the same hash `due_meters` computes in SQL."""
    return (meter_id * SPREAD_MULTIPLIER) % _SPREAD_MODULUS % interval


async def link_rows(session: AsyncSession, meter_ids: Collection[int]) -> list[MeterLinkRow]:
    """The records of these meters with their SIM's address (ids no meter has are left out)."""
    rows: list[MeterLinkRow] = []
    for chunk in _chunks(sorted(set(meter_ids))):
        found = await session.execute(link_query().where(Meter.id.in_(chunk)))
        rows += [MeterLinkRow(*row) for row in found.tuples()]
    return rows


async def due_meters(
    session: AsyncSession,
    *,
    modes: Collection[ConnectionMode],
    statuses: Collection[MeterStatus],
    group: GroupFilter,
    earlier: Sequence[GroupFilter],
    interval: int,
    window_start: int,
    window: int,
) -> list[int]:
    """Ids of the meters of `group` (and of none of the `earlier` groups) due in [start, start + window).

    A meter is due when its spread offset (`spread_offset`) plus a whole number of intervals falls in the window,
    `window_start` counted in seconds since 1970 (UTC). The window must not be longer than the interval.
    """
    offset = (sql_cast(Meter.id, BigInteger) * literal(SPREAD_MULTIPLIER, BigInteger)) % _SPREAD_MODULUS % interval
    phase = (offset - window_start % interval + interval) % interval
    query = select(Meter.id).where(
        Meter.connection_mode.in_(list(modes)),
        Meter.status.in_(list(statuses)),
        phase < window,
        _in_group(group),
        *(~_in_group(other) for other in earlier),
    )
    return list(await session.scalars(query.order_by(Meter.id)))


async def meter_ids(
    session: AsyncSession, *, modes: Collection[ConnectionMode], statuses: Collection[MeterStatus]
) -> list[int]:
    """Ids of every meter with one of these connection modes and statuses, ascending."""
    query = select(Meter.id).where(Meter.connection_mode.in_(list(modes)), Meter.status.in_(list(statuses)))
    return list(await session.scalars(query.order_by(Meter.id)))


async def raise_invocation_counters(session: AsyncSession, counters: Mapping[int, int]) -> None:
    """Raise each meter's stored invocation counter to the value given, never lower it (no commit)."""
    if not counters:
        return
    wanted = bindparam("b_counter", type_=BigInteger)
    statement = (
        update(_METERS)
        .where(_METERS.c.id == bindparam("b_meter_id"), _METERS.c.dlms_invocation_counter < wanted)
        .values(dlms_invocation_counter=wanted, updated_at=_METERS.c.updated_at)
    )
    rows = [{"b_meter_id": meter_id, "b_counter": counter} for meter_id, counter in sorted(counters.items())]
    await session.execute(statement, rows)


async def last_profile_intervals(
    session: AsyncSession, meter_ids: Collection[int], obis_id: int, since: datetime, period: int
) -> dict[int, datetime]:
    """Each meter's newest reading of `obis_id` after `since` at a whole `period` (a profile interval's end).

    Readings of the same code at other times (a register read between intervals) are not intervals.
    """
    found: dict[int, datetime] = {}
    for chunk in _chunks(sorted(set(meter_ids))):
        newest = func.max(Reading.ts)
        query = (
            select(Reading.meter_id, newest)
            .where(Reading.meter_id.in_(chunk), Reading.obis_id == obis_id, Reading.ts > since)
            .where(_epoch_seconds(session, Reading.ts) % period == 0)
            .group_by(Reading.meter_id)
        )
        for meter_id, moment in (await session.execute(query)).tuples():
            found[meter_id] = _utc(moment)
    return found


async def profile_times(
    session: AsyncSession, meter_ids: Collection[int], obis_id: int, start: datetime, end: datetime, period: int
) -> dict[int, list[datetime]]:
    """The interval ends (whole `period`) each meter has a reading of `obis_id` for, from `start` to `end`."""
    found: dict[int, list[datetime]] = defaultdict(list)
    for chunk in _chunks(sorted(set(meter_ids))):
        query = (
            select(Reading.meter_id, Reading.ts)
            .where(Reading.meter_id.in_(chunk), Reading.obis_id == obis_id, Reading.ts >= start, Reading.ts <= end)
            .where(_epoch_seconds(session, Reading.ts) % period == 0)
            .order_by(Reading.meter_id, Reading.ts)
        )
        for meter_id, moment in (await session.execute(query)).tuples():
            found[meter_id].append(_utc(moment))
    return dict(found)


async def last_meter_events(session: AsyncSession, meter_ids: Collection[int], since: datetime) -> dict[int, datetime]:
    """When each meter's newest event from its own logs (with a code, not about communication) happened."""
    found: dict[int, datetime] = {}
    for chunk in _chunks(sorted(set(meter_ids))):
        query = (
            select(Event.meter_id, func.max(Event.occurred_at))
            .where(Event.meter_id.in_(chunk), Event.occurred_at > since, Event.code.is_not(None))
            .where(Event.category != EventCategory.COMMUNICATION)
            .group_by(Event.meter_id)
        )
        for meter_id, moment in (await session.execute(query)).tuples():
            if meter_id is not None and moment is not None:
                found[meter_id] = _utc(moment)
    return found


def link_query() -> Any:
    """SELECT of the columns of MeterLinkRow, in its field order (meters joined to their SIM card)."""
    return select(
        Meter.id,
        Meter.meter_number,
        Meter.brand,
        Meter.area_id,
        Meter.status,
        Meter.connection_mode,
        Meter.ip_address,
        Meter.port,
        SimCard.ip_address,
        Meter.dlms_transport,
        Meter.dlms_client_address,
        Meter.dlms_server_address,
        Meter.dlms_physical_address,
        Meter.dlms_authentication,
        Meter.dlms_password_enc,
        Meter.dlms_authentication_key_enc,
        Meter.dlms_block_cipher_key_enc,
        Meter.dlms_invocation_counter,
    ).outerjoin(SimCard, SimCard.id == Meter.sim_card_id)


def _in_group(group: GroupFilter) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = []
    if group.brand is not None:
        conditions.append(func.lower(Meter.brand) == group.brand)
    if group.area_ids is not None:
        conditions.append(Meter.area_id.in_(group.area_ids) if group.area_ids else false())
    # A NULL brand or area is "not in the group", not unknown: NOT of unknown would drop the meter from every group.
    return and_(true(), *(func.coalesce(condition, false(), type_=Boolean) for condition in conditions))


def _epoch_seconds(session: AsyncSession, column: Any) -> ColumnElement[int]:
    if session.get_bind().dialect.name == "postgresql":
        return sql_cast(func.extract("epoch", column), BigInteger)
    return sql_cast(func.strftime("%s", column), Integer)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _chunks(values: list[int]) -> Iterator[list[int]]:
    for first in range(0, len(values), _IDS_PER_QUERY):
        yield values[first : first + _IDS_PER_QUERY]
