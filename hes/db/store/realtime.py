"""SQL the Socket.IO server needs: what a room shows (meter owner and area, area by code, the area tree)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.tables import Area, Meter


@dataclass(frozen=True, slots=True)
class MeterPlacement:
    """Where a meter sits for visibility: its area and the customer it supplies."""

    meter_id: int
    area_id: int | None
    customer_id: int | None


async def meter_placement(session: AsyncSession, meter_id: int) -> MeterPlacement | None:
    """The meter's area and customer, if the meter exists."""
    query = select(Meter.id, Meter.area_id, Meter.customer_id).where(Meter.id == meter_id)
    row = (await session.execute(query)).first()
    return MeterPlacement(*row) if row is not None else None


async def area_by_code(session: AsyncSession, code: str) -> tuple[int, str] | None:
    """The id and stored spelling of the area whose code matches `code` case-insensitively."""
    row = (await session.execute(select(Area.id, Area.code).where(func.lower(Area.code) == code.lower()))).first()
    return (row[0], row[1]) if row is not None else None
