"""Retention SQL: bounded deletes of old readings and events, and the oldest reading kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from hes.db.enums import EventCategory
from hes.db.store import obis_codes, retention
from hes.db.store.readings import ReadingRow, write_readings
from hes.db.tables import Event, Reading
from hes.obis import ObisCode
from hes.runtime import Runtime

# 1993: a year no other test writes readings in, and (on PostgreSQL) without partitions, so rows are in DEFAULT.
START = datetime(1993, 6, 1, tzinfo=UTC)
CUTOFF = START + timedelta(hours=5)


async def test_readings_before_the_cutoff_go_in_batches(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        assert await retention.oldest_reading(session) is None
        obis_id = (await obis_codes.get_or_create_ids(session, [ObisCode.parse("1-0:1.8.0.255")]))[
            ObisCode.parse("1-0:1.8.0.255")
        ]
        hours = [START + timedelta(hours=hour) for hour in range(8)]
        await write_readings(session, [ReadingRow(7, obis_id, ts, 2.0) for ts in hours])
        await session.commit()
        assert await retention.oldest_reading(session) == START

        assert await retention.delete_readings_before(session, CUTOFF, limit=3) == 3
        assert await retention.delete_readings_before(session, CUTOFF, limit=3) == 2
        assert await retention.delete_readings_before(session, CUTOFF, limit=3) == 0
        await session.commit()
        assert sorted(await session.scalars(select(Reading.ts))) == hours[5:]
        assert await retention.oldest_reading(session) == CUTOFF


async def test_events_before_the_cutoff_go_in_batches(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        session.add_all(
            Event(event_type="test", category=EventCategory.POWER, occurred_at=START + timedelta(hours=hour))
            for hour in range(8)
        )
        await session.commit()
        assert await retention.delete_events_before(session, CUTOFF, limit=4) == 4
        assert await retention.delete_events_before(session, CUTOFF, limit=4) == 1
        await session.commit()
        assert await session.scalar(select(func.min(Event.occurred_at))) == CUTOFF
