"""SQL for areas."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.store.existence import any_row, key_taken
from hes.db.store.listing import fetch_page, matching_text, order_by
from hes.db.tables import Area, Customer, Meter

SORT_COLUMNS = {"code": Area.code, "name": Area.name, "createdAt": Area.created_at}


async def by_id(session: AsyncSession, area_id: int) -> Area | None:
    """The area with this id, if any."""
    return await session.get(Area, area_id)


async def by_code_or_name(session: AsyncSession, key: str) -> Area | None:
    """The area whose code (exact, case-insensitive) or else name matches `key`."""
    lowered = key.strip().lower()
    found = await session.scalars(
        select(Area).where(or_(func.lower(Area.code) == lowered, func.lower(Area.name) == lowered))
    )
    candidates = list(found)
    by_code = [area for area in candidates if area.code.lower() == lowered]
    best = by_code or candidates
    return best[0] if best else None


async def code_exists(session: AsyncSession, code: str, *, except_id: int | None = None) -> bool:
    """True when another area already uses `code` (case-insensitive)."""
    return await key_taken(session, Area.code, code, Area.id, except_id)


async def parent_links(session: AsyncSession) -> dict[int, int | None]:
    """Every area's parent; the area tree is small enough to walk in memory."""
    rows = await session.execute(select(Area.id, Area.parent_id))
    return {area_id: parent_id for area_id, parent_id in rows.tuples()}


async def is_in_use(session: AsyncSession, area_id: int) -> bool:
    """True when meters, customers or child areas belong to the area."""
    return await any_row(
        session,
        [
            select(Meter.id).where(Meter.area_id == area_id),
            select(Customer.id).where(Customer.area_id == area_id),
            select(Area.id).where(Area.parent_id == area_id),
        ],
    )


async def page(
    session: AsyncSession,
    *,
    offset: int,
    limit: int,
    search: str | None,
    sort: str | None,
    visible_ids: frozenset[int] | None,
    parent_id: int | None = None,
) -> tuple[list[Area], int]:
    """Areas matching the filters, one page, with the total."""
    query = select(Area)
    if search:
        query = query.where(matching_text(search, [Area.code, Area.name]))
    if visible_ids is not None:
        query = query.where(Area.id.in_(visible_ids))
    if parent_id is not None:
        query = query.where(Area.parent_id == parent_id)
    return await fetch_page(session, query, order_by(sort, SORT_COLUMNS, "code"), offset, limit)
