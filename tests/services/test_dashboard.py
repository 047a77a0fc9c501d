"""Dashboard figures at a fixed moment on the crafted fleet: the last full hour comes from the rollups."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hes.db.enums import MeterStatus, Role, Severity
from hes.runtime import Runtime
from hes.services import dashboard
from hes.services.principal import Principal
from tests.api.routes.consumption_fleet import build_fleet

STAFF = Principal(user_id=1, username="staff", role=Role.VIEWER)


async def test_last_full_hour_and_counts_at_a_given_moment(runtime: Runtime) -> None:
    fleet = await build_fleet(runtime)
    async with runtime.sessions() as session:
        stats = await dashboard.stats(session, STAFF, now=datetime(2025, 3, 3, 11, 20, tzinfo=UTC))
        limited = Principal(user_id=2, username="east", role=Role.VIEWER, area_ids=frozenset({fleet.east}))
        east = await dashboard.stats(session, limited, now=datetime(2025, 3, 4, 0, 0, tzinfo=UTC))
    assert stats.last_hour.start == datetime(2025, 3, 3, 10, tzinfo=UTC)
    assert (stats.last_hour.import_kwh, stats.last_hour.export_kwh, stats.last_hour.meters_reporting) == (3.4, 0.04, 3)
    assert stats.last_hour.complete is False  # EA-NEW is in service and silent
    assert (stats.meters.total, stats.meters.by_status[MeterStatus.WAREHOUSE]) == (5, 1)
    assert stats.alerts.total == 0 and set(stats.alerts.by_severity) == set(Severity)
    assert (stats.read_success.day, stats.read_success.attempts, stats.read_success.success_rate) == (
        date(2025, 3, 3),
        0,
        None,
    )
    assert (east.last_hour.start, east.last_hour.import_kwh, east.meters.total) == (
        datetime(2025, 3, 3, 23, tzinfo=UTC),
        0.4,
        2,
    )
