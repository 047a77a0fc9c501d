"""SQL of consumption figures: sums per hour or day for a meter, some areas or every meter; who reported."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hes.db.enums import MeterStatus
from hes.db.store import consumption as store
from hes.db.store.consumption import MeterScope
from hes.db.store.consumption_rollups import DayRecord, HourRecord, upsert_days, upsert_hours
from hes.db.tables import Area, Meter
from hes.runtime import Runtime

HOUR = datetime(2025, 3, 3, 10, tzinfo=UTC)


async def test_sums_and_reporting_meters_per_scope(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        north, south = Area(code="N", name="North"), Area(code="S", name="South")
        session.add_all([north, south])
        await session.flush()
        meters = [
            Meter(meter_number="N-1", area_id=north.id, status=MeterStatus.ONLINE),
            Meter(meter_number="N-2", area_id=north.id, status=MeterStatus.OFFLINE),
            Meter(meter_number="S-1", area_id=south.id, status=MeterStatus.ONLINE),
        ]
        session.add_all(meters)
        await session.flush()
        n1, _, s1 = (meter.id for meter in meters)
        await upsert_hours(
            session,
            [
                HourRecord(n1, 1, HOUR, 0, 1, 1000.0, 4, 0, 0, True),
                HourRecord(s1, 1, HOUR, 0, 1, 500.0, 4, 1, 0, False),
                HourRecord(s1, 1, HOUR + timedelta(hours=1), 0, 1, 700.0, 4, 0, 0, True),
            ],
        )
        await upsert_days(session, [DayRecord(n1, 1, date(2025, 3, 3), 24_000.0, 24, 0, 1, True)])
        north_only = MeterScope(area_ids=frozenset({north.id}))
        (hour,) = await store.totals(session, north_only, [1], HOUR, HOUR, hourly=True)
        assert (hour.period, hour.delta, hour.series, hour.complete) == (HOUR, 1000.0, 1, 1)
        everyone = await store.totals(session, MeterScope(), [1], HOUR, HOUR + timedelta(hours=1), hourly=True)
        assert sorted((t.period, t.delta, t.series, t.complete, t.resets) for t in everyone) == [
            (HOUR, 1500.0, 2, 1, 1),
            (HOUR + timedelta(hours=1), 700.0, 1, 1, 0),
        ]
        (day,) = await store.totals(
            session, MeterScope(meter_id=n1), [1], date(2025, 3, 3), date(2025, 3, 3), hourly=False
        )
        assert (day.period, day.delta, day.rollovers) == (date(2025, 3, 3), 24_000.0, 1)
        assert await store.reporting_meters(session, north_only, 1, HOUR, HOUR, hourly=True) == 1
        silent = await store.reporting_meters(
            session, north_only, 1, HOUR, HOUR, hourly=True, statuses={MeterStatus.OFFLINE}, reporting=False
        )
        assert silent == 1
        assert (
            await store.reporting_meters(session, MeterScope(), 1, date(2025, 3, 3), date(2025, 3, 3), hourly=False)
            == 1
        )
