"""SQL of the dashboard and the online-rate report: meters by status, active alerts, online counts per area."""

from __future__ import annotations

from datetime import UTC, datetime

from hes.db.enums import AlertStatus, MeterStatus, Severity
from hes.db.store import dashboard as store
from hes.db.tables import Alert, Area, Meter
from hes.runtime import Runtime


async def test_counts_within_areas(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        top = Area(code="TOP", name="Top")
        session.add(top)
        await session.flush()
        below = Area(code="BELOW", name="Below", parent_id=top.id)
        session.add(below)
        await session.flush()
        seen = datetime(2025, 3, 3, tzinfo=UTC)
        meters = [
            Meter(meter_number="T-1", area_id=top.id, status=MeterStatus.ONLINE, last_seen_at=seen),
            Meter(meter_number="B-1", area_id=below.id, status=MeterStatus.OFFLINE, last_seen_at=seen),
            Meter(meter_number="B-2", area_id=below.id, status=MeterStatus.INSTALLED),
            Meter(meter_number="X-1", status=MeterStatus.ONLINE, last_seen_at=seen),
        ]
        session.add_all(meters)
        await session.flush()
        session.add_all(
            [
                Alert(meter_id=meters[0].id, alert_type="a", severity=Severity.ERROR, message="m"),
                Alert(
                    meter_id=meters[1].id,
                    alert_type="a",
                    severity=Severity.ERROR,
                    message="m",
                    status=AlertStatus.ACKNOWLEDGED,
                ),
                Alert(
                    meter_id=meters[2].id,
                    alert_type="a",
                    severity=Severity.INFO,
                    message="m",
                    status=AlertStatus.RESOLVED,
                ),
                Alert(meter_id=None, alert_type="b", severity=Severity.CRITICAL, message="m"),
            ]
        )
        await session.flush()
        assert await store.meters_by_status(session, None) == {
            MeterStatus.ONLINE: 2,
            MeterStatus.OFFLINE: 1,
            MeterStatus.INSTALLED: 1,
        }
        assert await store.meters_by_status(session, frozenset({below.id})) == {
            MeterStatus.OFFLINE: 1,
            MeterStatus.INSTALLED: 1,
        }
        assert await store.active_alerts_by_severity(session, None) == {Severity.ERROR: 2, Severity.CRITICAL: 1}
        assert await store.active_alerts_by_severity(session, frozenset({below.id})) == {Severity.ERROR: 1}
        statuses = {MeterStatus.ONLINE, MeterStatus.OFFLINE, MeterStatus.INSTALLED}
        counts = {row.area_id: row for row in await store.online_counts(session, None, statuses)}
        assert (counts[below.id].total, counts[below.id].never_online, counts[below.id].offline) == (2, 1, 1)
        assert (counts[None].total, counts[None].online) == (1, 1)
        assert [(row.code, row.parent_code) for row in await store.areas(session, None)] == [
            ("BELOW", "TOP"),
            ("TOP", None),
        ]
