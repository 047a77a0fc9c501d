"""/api/dashboard/stats over HTTP on a crafted fleet: meters, active alerts, last hour's energy, read success."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from hes.api.routes import dashboard
from hes.config import Settings
from hes.db.enums import AlertStatus, ReadingSource, Role, Severity
from hes.db.tables import Alert
from hes.ingest.records import IncomingReading
from hes.runtime import Runtime
from hes.services import communication_stats
from hes.services.communication_stats import AttemptOutcome
from hes.services.consumption_rollup import ConsumptionRollups, RollupSettings
from tests.api.routes.consumption_fleet import IMPORT, Fleet, app_with, build_fleet, login_limited
from tests.conftest import UserFactory


@pytest.fixture
async def app(settings: Settings, runtime: Runtime) -> AsyncIterator[FastAPI]:
    """The app with the dashboard router."""
    async with app_with(settings, ("dashboard_stats", dashboard.router)) as application:
        yield application


@pytest.fixture
async def fleet(runtime: Runtime) -> Fleet:
    """The crafted fleet plus alerts, today's read attempts and readings that close the last full hour."""
    fleet = await build_fleet(runtime)
    now = datetime.now(UTC)
    async with runtime.sessions() as session:
        session.add_all(
            [
                Alert(meter_id=fleet.rg1, alert_type="cover_open", severity=Severity.CRITICAL, message="cover"),
                Alert(
                    meter_id=fleet.rg2,
                    alert_type="communication_lost",
                    severity=Severity.WARNING,
                    status=AlertStatus.ACKNOWLEDGED,
                    message="silent",
                ),
                Alert(meter_id=fleet.ea1, alert_type="over_voltage", severity=Severity.WARNING, message="volts"),
                Alert(
                    meter_id=fleet.ea1,
                    alert_type="magnetic",
                    severity=Severity.CRITICAL,
                    status=AlertStatus.RESOLVED,
                    message="gone",
                ),
                Alert(meter_id=None, alert_type="head_end", severity=Severity.ERROR, message="no meter"),
            ]
        )
        await session.commit()
        await communication_stats.record_attempts(
            session,
            [
                AttemptOutcome(fleet.rg1, now, ok=True),
                AttemptOutcome(fleet.rg2, now, ok=False),
                AttemptOutcome(fleet.ea1, now, ok=True),
            ],
        )
    await _last_hour(runtime, fleet, now)
    return fleet


async def _last_hour(runtime: Runtime, fleet: Fleet, now: datetime) -> None:
    """RG-1 uses 1 kWh and EA-1 2 kWh in the last full hour; RG-1's hour before is known, EA-1's is not."""
    end = now.replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(hours=1)
    readings = [
        IncomingReading(fleet.rg1, IMPORT, start - timedelta(minutes=15), 5_000.0, source=ReadingSource.HTTP),
        IncomingReading(fleet.rg1, IMPORT, start, 5_250.0, source=ReadingSource.HTTP),
        IncomingReading(fleet.rg1, IMPORT, end, 6_250.0, source=ReadingSource.HTTP),
        IncomingReading(fleet.ea1, IMPORT, start - timedelta(hours=3), 100.0, source=ReadingSource.HTTP),
        IncomingReading(fleet.ea1, IMPORT, end, 2_100.0, source=ReadingSource.HTTP),
    ]
    listener = ConsumptionRollups(runtime.sessions, RollupSettings(catch_up=False))
    runtime.ingestor.subscribe(listener)
    try:
        await runtime.ingestor.submit(readings)
        async with asyncio.timeout(10):
            await runtime.ingestor.settled()
        await listener.flush()
    finally:
        runtime.ingestor.unsubscribe(listener)


async def test_figures_for_the_whole_fleet(client: AsyncClient, viewer: dict[str, str], fleet: Fleet) -> None:
    answer = await client.get("/api/dashboard/stats", headers=viewer)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["meters"] == {
        "total": 5,
        "online": 2,
        "offline": 1,
        "byStatus": {
            "warehouse": 1,
            "installed": 1,
            "online": 2,
            "offline": 1,
            "faulty": 0,
            "decommissioned": 0,
        },
    }
    assert body["alerts"] == {"total": 4, "bySeverity": {"info": 0, "warning": 2, "error": 1, "critical": 1}}
    last_hour = body["lastHour"]
    assert (last_hour["importKwh"], last_hour["exportKwh"], last_hour["metersReporting"]) == (3.0, None, 2)
    assert last_hour["complete"] is False  # EA-1's hour follows a gap; EA-NEW and RG-2 said nothing
    generated = datetime.fromisoformat(body["generatedAt"])
    assert datetime.fromisoformat(last_hour["start"]) == generated.replace(
        minute=0, second=0, microsecond=0
    ) - timedelta(hours=1)
    read_success = body["readSuccess"]
    assert (read_success["attempts"], read_success["successes"], read_success["successRate"]) == (3, 2, 0.6667)
    assert read_success["day"] == generated.date().isoformat()


async def test_area_limits_narrow_every_figure(client: AsyncClient, runtime: Runtime, fleet: Fleet) -> None:
    limited = await login_limited(client, runtime, Role.VIEWER, frozenset({fleet.region, fleet.region_one}))
    body = (await client.get("/api/dashboard/stats", headers=limited)).json()
    assert (body["meters"]["total"], body["meters"]["online"], body["meters"]["offline"]) == (3, 1, 1)
    assert body["alerts"] == {"total": 2, "bySeverity": {"info": 0, "warning": 1, "error": 0, "critical": 1}}
    assert (body["lastHour"]["importKwh"], body["lastHour"]["metersReporting"]) == (1.0, 1)
    assert (body["readSuccess"]["attempts"], body["readSuccess"]["successes"]) == (2, 1)


async def test_staff_only(client: AsyncClient, login_as: UserFactory, fleet: Fleet) -> None:
    customer = await login_as(Role.CUSTOMER, customer_id=fleet.customer)
    assert (await client.get("/api/dashboard/stats", headers=customer)).status_code == 403
    assert (await client.get("/api/dashboard/stats")).status_code == 401
