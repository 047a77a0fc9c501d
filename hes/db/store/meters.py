"""SQL for meters."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from hes.db.enums import ConnectionMode, MeterStatus, MeterType
from hes.db.store.existence import any_row, key_taken
from hes.db.store.listing import fetch_page, matching_text, order_by
from hes.db.tables import Alert, Command, Event, Meter, MeterAssignment, Reading

SORT_COLUMNS = {
    "meterNumber": Meter.meter_number,
    "status": Meter.status,
    "brand": Meter.brand,
    "lastSeenAt": Meter.last_seen_at,
    "createdAt": Meter.created_at,
}

# Ids bound per statement: well under the 32,766 parameters SQLite accepts.
_IDS_PER_STATEMENT = 5_000
# The area, customer and SIM summaries every meter answer carries.
_WITH_LINKS = (selectinload(Meter.area), selectinload(Meter.customer), selectinload(Meter.sim_card))


async def by_id(session: AsyncSession, meter_id: int, *, refresh: bool = False) -> Meter | None:
    """The meter with this id and its area, customer and SIM; `refresh` reloads a meter already in the session."""
    query = select(Meter).where(Meter.id == meter_id).options(*_WITH_LINKS)
    if refresh:
        query = query.execution_options(populate_existing=True)
    meter: Meter | None = await session.scalar(query)
    return meter


async def by_sim(session: AsyncSession, sim_card_id: int) -> Meter | None:
    """The meter the SIM card is on, if any."""
    meter: Meter | None = await session.scalar(select(Meter).where(Meter.sim_card_id == sim_card_id))
    return meter


async def on_sims(session: AsyncSession, sim_card_ids: Iterable[int]) -> dict[int, Meter]:
    """The meter each of these SIM cards is on (SIMs on no meter are absent)."""
    ids = set(sim_card_ids)
    if not ids:
        return {}
    found = await session.scalars(select(Meter).where(Meter.sim_card_id.in_(ids)))
    return {meter.sim_card_id: meter for meter in found if meter.sim_card_id is not None}


async def allowed_to_export(session: AsyncSession, meter_ids: Collection[int]) -> set[int]:
    """Those of these meters that may export energy (prosumers)."""
    wanted = sorted(set(meter_ids))
    allowed: set[int] = set()
    for start in range(0, len(wanted), _IDS_PER_STATEMENT):
        chunk = wanted[start : start + _IDS_PER_STATEMENT]
        allowed.update(await session.scalars(select(Meter.id).where(Meter.id.in_(chunk), Meter.export_allowed)))
    return allowed


async def number_exists(session: AsyncSession, meter_number: str, *, except_id: int | None = None) -> bool:
    """True when another meter already has `meter_number` (case-insensitive: 'ab1' and 'AB1' are one meter)."""
    return await key_taken(session, Meter.meter_number, meter_number, Meter.id, except_id)


async def customer_has_meters(session: AsyncSession, customer_id: int) -> bool:
    """True when any meter is linked to the customer now."""
    return await any_row(session, [select(Meter.id).where(Meter.customer_id == customer_id)])


async def has_history(session: AsyncSession, meter_id: int) -> bool:
    """True when readings, events, alerts, commands or assignment history refer to the meter."""
    return await any_row(
        session,
        [
            select(MeterAssignment.meter_id).where(MeterAssignment.meter_id == meter_id),
            select(Reading.meter_id).where(Reading.meter_id == meter_id),
            select(Command.meter_id).where(Command.meter_id == meter_id),
            select(Event.id).where(Event.meter_id == meter_id),
            select(Alert.id).where(Alert.meter_id == meter_id),
        ],
    )


async def page(
    session: AsyncSession,
    *,
    offset: int,
    limit: int,
    search: str | None = None,
    sort: str | None = None,
    area_ids: frozenset[int] | None = None,
    status: MeterStatus | None = None,
    brand: str | None = None,
    meter_type: MeterType | None = None,
    connection_mode: ConnectionMode | None = None,
    customer_id: int | None = None,
    concentrator_id: str | None = None,
) -> tuple[list[Meter], int]:
    """Meters matching the filters, one page with their links, and the total."""
    query = select(Meter).options(*_WITH_LINKS)
    if search:
        query = query.where(matching_text(search, [Meter.meter_number, Meter.concentrator_id]))
    if area_ids is not None:
        query = query.where(Meter.area_id.in_(area_ids))
    if status is not None:
        query = query.where(Meter.status == status)
    if brand:
        query = query.where(func.lower(Meter.brand) == brand.lower())
    if meter_type is not None:
        query = query.where(Meter.meter_type == meter_type)
    if connection_mode is not None:
        query = query.where(Meter.connection_mode == connection_mode)
    if customer_id is not None:
        query = query.where(Meter.customer_id == customer_id)
    if concentrator_id:
        query = query.where(Meter.concentrator_id == concentrator_id)
    # Never-seen or blank values sort last both ways on both backends; the id breaks ties so pages never overlap.
    terms = order_by(sort, SORT_COLUMNS, "meterNumber")
    order: list[ColumnElement[Any]] = [*(term.nulls_last() for term in terms), Meter.id.asc()]
    return await fetch_page(session, query, order, offset, limit)
