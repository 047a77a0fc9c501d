"""SQL the Socket.IO server needs: what a room shows (meter owner and area, area by code) and device-token lookup."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.tables import Area, DeviceToken, Meter


@dataclass(frozen=True, slots=True)
class MeterPlacement:
    """Where a meter sits for visibility: its area and the customer it supplies."""

    meter_id: int
    meter_number: str
    area_id: int | None
    customer_id: int | None
    concentrator_id: str | None


@dataclass(frozen=True, slots=True)
class DeviceGrant:
    """What a valid (unrevoked) device token lets its holder submit for: one meter, or a concentrator's meters."""

    token_id: int
    meter_id: int | None
    concentrator_id: str | None


async def meter_placement(session: AsyncSession, meter_id: int) -> MeterPlacement | None:
    """The meter's area, customer and concentrator, if the meter exists."""
    row = (
        await session.execute(
            select(Meter.id, Meter.meter_number, Meter.area_id, Meter.customer_id, Meter.concentrator_id).where(
                Meter.id == meter_id
            )
        )
    ).first()
    return MeterPlacement(*row) if row is not None else None


async def meters_by_number(session: AsyncSession, meter_numbers: Iterable[str]) -> dict[str, MeterPlacement]:
    """The meters with these numbers (exact match), keyed by number; unknown numbers are left out."""
    wanted = set(meter_numbers)
    if not wanted:
        return {}
    rows = await session.execute(
        select(Meter.id, Meter.meter_number, Meter.area_id, Meter.customer_id, Meter.concentrator_id).where(
            Meter.meter_number.in_(wanted)
        )
    )
    return {row.meter_number: MeterPlacement(*row) for row in rows}


async def area_by_code(session: AsyncSession, code: str) -> tuple[int, str] | None:
    """The id and stored spelling of the area whose code matches `code` case-insensitively."""
    row = (await session.execute(select(Area.id, Area.code).where(func.lower(Area.code) == code.lower()))).first()
    return (row[0], row[1]) if row is not None else None


async def area_parents(session: AsyncSession) -> dict[int, int | None]:
    """Every area's parent; the area tree is small enough to walk in memory."""
    rows = await session.execute(select(Area.id, Area.parent_id))
    return {area_id: parent_id for area_id, parent_id in rows.tuples()}


async def device_grant(session: AsyncSession, token_hash: str) -> DeviceGrant | None:
    """The unrevoked device token with this SHA-256 hex hash, if any."""
    row = (
        await session.execute(
            select(DeviceToken.id, DeviceToken.meter_id, DeviceToken.concentrator_id).where(
                DeviceToken.token_hash == token_hash, DeviceToken.revoked_at.is_(None)
            )
        )
    ).first()
    return DeviceGrant(*row) if row is not None else None
