"""Where the next profile and log reads start: after the newest stored interval and logged event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hes.connectivity.collection_plan import event_starts, profile_starts
from hes.db.enums import EventCategory
from hes.db.store import obis_codes
from hes.db.store.readings import ReadingRow, write_readings
from hes.db.tables import Event
from hes.obis.codes import ObisCode
from hes.runtime import Runtime
from tests.connectivity.targets import target
from tests.ingest.fleet import add_meters

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


async def test_profiles_start_after_the_newest_interval_and_logs_at_the_newest_event(runtime: Runtime) -> None:
    first, second, third = (await add_meters(runtime, ["A", "B", "C"])).values()
    hexing, hexcell, fresh = target(id=first), target(id=second, brand="Hexcell"), target(id=third)
    async with runtime.sessions() as session:
        ids = await obis_codes.get_or_create_ids(
            session, [ObisCode.parse("1-0:1.8.0.255"), ObisCode.parse("1-0:32.7.0.255")]
        )
        energy, voltage = ids.values()
        rows = [
            ReadingRow(first, energy, NOW - timedelta(hours=3), 1.0),
            ReadingRow(first, energy, NOW - timedelta(minutes=7), 2.0),  # a register read: not an interval
            ReadingRow(second, voltage, NOW - timedelta(hours=5), 230.0),  # Hexcell's profile starts with voltage
        ]
        await write_readings(session, rows)
        session.add(
            Event(
                meter_id=first,
                event_type="power_down",
                code=1,
                category=EventCategory.POWER,
                occurred_at=NOW - timedelta(hours=1),
            )
        )
        await session.commit()
        starts = await profile_starts(session, [hexing, hexcell, fresh], NOW, WEEK)
        events = await event_starts(session, [hexing, hexcell, fresh], NOW, WEEK)
    second_later = timedelta(seconds=1)
    assert starts == {first: NOW - timedelta(hours=3) + second_later, second: NOW - timedelta(hours=5) + second_later}
    assert events == {first: NOW - timedelta(hours=1)}
