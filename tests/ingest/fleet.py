"""Meters, device tokens and reading bodies for the ingest tests (shared by tests/ingest and the route tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from hes.db.enums import MeterStatus, Role
from hes.db.tables import Area, Meter, Reading
from hes.runtime import Runtime
from hes.services.device_tokens import TOKEN_PREFIX, DeviceTokenCache, DeviceTokenScope, issue
from hes.services.principal import Principal

ENERGY = "1-0:1.8.0.255"
VOLTAGE = "1-0:32.7.0.255"
START = datetime(2025, 3, 3, tzinfo=UTC)
SYSTEM = Principal(user_id=0, username="test", role=Role.ADMIN)


async def add_meters(
    runtime: Runtime,
    numbers: list[str],
    *,
    concentrator: str | None = None,
    status: MeterStatus = MeterStatus.INSTALLED,
    area_code: str | None = None,
) -> dict[str, int]:
    """Meters with these numbers (optionally under one concentrator and area); their ids by number."""
    async with runtime.sessions() as session:
        area_id = None
        if area_code is not None:
            area = await session.scalar(select(Area).where(Area.code == area_code))
            if area is None:
                area = Area(code=area_code, name=f"Area {area_code}")
                session.add(area)
                await session.flush()
            area_id = area.id
        meters = [Meter(meter_number=n, concentrator_id=concentrator, status=status, area_id=area_id) for n in numbers]
        session.add_all(meters)
        await session.commit()
        return {meter.meter_number: meter.id for meter in meters}


async def device_token(runtime: Runtime, meter_id: int, scope: DeviceTokenScope = DeviceTokenScope.METER) -> str:
    """A fresh device token for the meter (or its concentrator)."""
    async with runtime.sessions() as session:
        issued = await issue(session, SYSTEM, meter_id, scope, DeviceTokenCache(0))
    assert issued.token.startswith(TOKEN_PREFIX)
    return issued.token


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of a token."""
    return {"Authorization": f"Bearer {token}"}


# The catalogue's unit of each code, so values are stored as sent (another unit of the same quantity is converted).
UNITS = {ENERGY: "Wh", VOLTAGE: "V"}


def readings(
    number: str, count: int, *, first: int = 0, obis: str = ENERGY, start: datetime = START
) -> list[dict[str, Any]]:
    """`count` quarter-hourly readings of one meter and code, in wire form."""
    return [
        {
            "meterNumber": number,
            "obis": obis,
            "timestamp": (start + timedelta(minutes=15 * step)).isoformat(),
            "value": 1000.0 + step / 4,
            "unit": UNITS.get(obis),
        }
        for step in range(first, first + count)
    ]


async def count_readings(runtime: Runtime, meter_id: int | None = None) -> int:
    """Stored readings (of one meter, or all)."""
    query = select(func.count()).select_from(Reading)
    if meter_id is not None:
        query = query.where(Reading.meter_id == meter_id)
    async with runtime.sessions() as session:
        return int(await session.scalar(query) or 0)
