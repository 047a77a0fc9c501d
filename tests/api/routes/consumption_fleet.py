"""A crafted fleet with known consumption, shared by the consumption, dashboard and report route tests.

REGION holds RG-1 (online, a customer's) and RG-STOCK (warehouse, never online); its sub-area REGION-1 holds
RG-2 (offline, one hour missing); EAST holds EA-1 (online) and EA-NEW (installed, never online, silent).
Import registers advance 1 kWh (RG-1), 2 kWh (RG-2) and 0.4 kWh (EA-1) per hour, from 3 March 2025 00:00 to
5 March 00:00 UTC; RG-1 also exports 0.04 kWh per hour. Values are Wh, as the brand profiles and obis_codes
give these registers.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from asgi_lifespan import LifespanManager
from fastapi import APIRouter, FastAPI
from httpx import AsyncClient
from starlette.routing import NoMatchFound

from hes.app import create_app
from hes.config import Settings
from hes.db.enums import MeterStatus, ReadingSource, Role
from hes.db.tables import Area, Customer, Meter
from hes.ingest.records import IncomingReading
from hes.obis.codes import ObisCode
from hes.runtime import Runtime
from hes.services import users
from hes.services.consumption_rollup import ConsumptionRollups, RollupSettings
from tests.conftest import PASSWORD

IMPORT = ObisCode.parse("1-0:1.8.0.255")
EXPORT = ObisCode.parse("1-0:2.8.0.255")
DAY = datetime(2025, 3, 3, tzinfo=UTC)  # a Monday
QUARTER = timedelta(minutes=15)
QUARTERS = 2 * 96 + 1  # 3 March 00:00 to 5 March 00:00, both included
GAP_START = DAY + timedelta(days=1, hours=5)  # RG-2 sends nothing that closes 4 March 05:00-06:00


@dataclass(frozen=True)
class Fleet:
    """Ids of the crafted fleet's areas, meters and customer."""

    region: int
    region_one: int
    east: int
    rg1: int
    rg2: int
    ea1: int
    stock: int
    silent: int
    customer: int


@asynccontextmanager
async def app_with(settings: Settings, *routers: tuple[str, APIRouter]) -> AsyncIterator[FastAPI]:
    """The running app, with each router mounted unless hes.api.main mounts it already (checked by a route name)."""
    application = create_app(settings)
    for route_name, router in routers:
        try:
            application.url_path_for(route_name)
        except NoMatchFound:
            application.include_router(router)
    async with LifespanManager(application, startup_timeout=30, shutdown_timeout=60):
        yield application


async def build_fleet(runtime: Runtime) -> Fleet:
    """Areas, meters and two days of register readings, stored through ingest and rolled up."""
    async with runtime.sessions() as session:
        region, east = Area(code="REGION", name="Region"), Area(code="EAST", name="East")
        session.add_all([region, east])
        await session.flush()
        region_one = Area(code="REGION-1", name="Region one", parent_id=region.id)
        customer = Customer(account_number="ACC-1", customer_name="Ada")
        session.add_all([region_one, customer])
        await session.flush()
        meters = [
            Meter(meter_number="RG-1", area_id=region.id, customer_id=customer.id, status=MeterStatus.ONLINE),
            Meter(meter_number="RG-2", area_id=region_one.id, status=MeterStatus.OFFLINE),
            Meter(meter_number="EA-1", area_id=east.id, status=MeterStatus.ONLINE),
            Meter(meter_number="RG-STOCK", area_id=region.id, status=MeterStatus.WAREHOUSE),
            Meter(meter_number="EA-NEW", area_id=east.id, status=MeterStatus.INSTALLED),
        ]
        session.add_all(meters)
        await session.commit()
        fleet = Fleet(region.id, region_one.id, east.id, *(meter.id for meter in meters), customer.id)
    listener = ConsumptionRollups(runtime.sessions, RollupSettings(catch_up=False))
    runtime.ingestor.subscribe(listener)
    try:
        await _register(runtime, fleet.rg1, IMPORT, 250.0)
        await _register(runtime, fleet.rg1, EXPORT, 10.0)
        await _register(runtime, fleet.rg2, IMPORT, 500.0, skip_hour=GAP_START)
        await _register(runtime, fleet.ea1, IMPORT, 100.0)
        async with asyncio.timeout(10):
            await runtime.ingestor.settled()
        await listener.flush()
    finally:
        runtime.ingestor.unsubscribe(listener)
    async with runtime.sessions() as session:
        rg2 = await session.get(Meter, fleet.rg2)
        assert rg2 is not None
        rg2.status = MeterStatus.OFFLINE  # its data came in, then it went quiet
        await session.commit()
    return fleet


async def _register(
    runtime: Runtime, meter_id: int, obis: ObisCode, per_quarter: float, skip_hour: datetime | None = None
) -> None:
    readings = [
        IncomingReading(meter_id, obis, DAY + QUARTER * i, 1_000_000.0 + per_quarter * i, source=ReadingSource.HTTP)
        for i in range(QUARTERS)
        if skip_hour is None or not skip_hour < DAY + QUARTER * i <= skip_hour + timedelta(hours=1)
    ]
    await runtime.ingestor.submit(readings)


async def login_limited(client: AsyncClient, runtime: Runtime, role: Role, area_ids: frozenset[int]) -> dict[str, str]:
    """Authorization header of a fresh user of `role` limited to `area_ids`."""
    name = f"{role.value}-{secrets.token_hex(3)}"
    async with runtime.sessions() as session:
        await users.create_user(session, "test", users.NewUser(name, PASSWORD, role, area_ids=area_ids))
    answer = await client.post("/api/auth/login", json={"username": name, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['accessToken']}"}
