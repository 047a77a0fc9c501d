"""SQL for SIM cards."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.enums import SimStatus
from hes.db.store.existence import key_taken
from hes.db.store.listing import fetch_page, matching_text, order_by
from hes.db.tables import Meter, SimCard

SORT_COLUMNS = {
    "simNumber": SimCard.sim_number,
    "iccid": SimCard.iccid,
    "msisdn": SimCard.msisdn,
    "provider": SimCard.provider,
    "status": SimCard.status,
    "createdAt": SimCard.created_at,
}


async def by_id(session: AsyncSession, sim_card_id: int) -> SimCard | None:
    """The SIM card with this id, if any."""
    return await session.get(SimCard, sim_card_id)


async def taken_identifiers(
    session: AsyncSession, sim_number: str | None, iccid: str | None, imsi: str | None, *, except_id: int | None = None
) -> list[str]:
    """Which of the given identifiers (as "simNumber", "iccid", "imsi") another SIM card already has."""
    wanted = (
        ("simNumber", SimCard.sim_number, sim_number),
        ("iccid", SimCard.iccid, iccid),
        ("imsi", SimCard.imsi, imsi),
    )
    return [
        name
        for name, column, value in wanted
        if value is not None and await key_taken(session, column, value, SimCard.id, except_id)
    ]


def _on_a_meter(area_ids: frozenset[int] | None = None) -> ColumnElement[bool]:
    query = select(Meter.id).where(Meter.sim_card_id == SimCard.id)
    if area_ids is not None:
        query = query.where(Meter.area_id.in_(area_ids))
    return exists(query)


async def page(
    session: AsyncSession,
    *,
    offset: int,
    limit: int,
    search: str | None = None,
    sort: str | None = None,
    status: SimStatus | None = None,
    provider: str | None = None,
    assigned: bool | None = None,
    meter_area_ids: frozenset[int] | None = None,
    visible_area_ids: frozenset[int] | None = None,
) -> tuple[list[SimCard], int]:
    """SIM cards matching the filters, one page, and the total.

    `meter_area_ids` keeps SIMs on a meter in those areas; `visible_area_ids` keeps those plus SIMs on no meter
    (stock belongs to no area).
    """
    query = select(SimCard)
    if search:
        query = query.where(matching_text(search, [SimCard.sim_number, SimCard.iccid, SimCard.imsi, SimCard.msisdn]))
    if status is not None:
        query = query.where(SimCard.status == status)
    if provider:
        query = query.where(func.lower(SimCard.provider) == provider.lower())
    if assigned is not None:
        query = query.where(_on_a_meter() if assigned else ~_on_a_meter())
    if meter_area_ids is not None:
        query = query.where(_on_a_meter(meter_area_ids))
    if visible_area_ids is not None:
        query = query.where(or_(~_on_a_meter(), _on_a_meter(visible_area_ids)))
    # Never-seen or blank values sort last both ways on both backends; the id breaks ties so pages never overlap.
    terms = order_by(sort, SORT_COLUMNS, "simNumber")
    order: list[ColumnElement[Any]] = [*(term.nulls_last() for term in terms), SimCard.id.asc()]
    return await fetch_page(session, query, order, offset, limit)
