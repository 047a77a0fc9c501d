"""The event log store: batch insert ids in order, read back by ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hes.db.enums import EventCategory, Severity
from hes.db.store import events
from hes.db.tables import Meter
from hes.ingest.records import IncomingEvent
from hes.runtime import Runtime

START = datetime(2024, 5, 1, tzinfo=UTC)


async def _meter(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        meter = Meter(meter_number="MTR-1")
        session.add(meter)
        await session.commit()
        return meter.id


def _event(meter_id: int, hours: int, event_type: str = "cover_opened") -> IncomingEvent:
    return IncomingEvent(meter_id, event_type, START + timedelta(hours=hours), EventCategory.TAMPER, Severity.WARNING)


async def test_inserted_ids_come_back_in_order_and_read_back_by_id(runtime: Runtime) -> None:
    meter = await _meter(runtime)
    async with runtime.sessions() as session:
        ids = await events.insert_events(session, [_event(meter, 2, "b"), _event(meter, 1, "a"), _event(meter, 3, "c")])
        await session.commit()
        found = await events.records(session, [ids[2], 999_999, ids[0]])
    assert [record.event.event_type for record in found] == ["c", "b"]
    assert found[0].meter_number == "MTR-1" and found[0].area_code is None
