"""Intake of device-named data: who may send for which meter, codes and events resolved, refusals by position."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from hes.db.enums import EventCategory, Severity
from hes.db.tables import Event
from hes.ingest.ingestor import Ingestor, IngestSettings
from hes.ingest.intake import NamedEvent, NamedReadings, SenderScope, take_in
from hes.ingest.meter_directory import MeterDirectory
from hes.ingest.obis_catalogue import ObisCatalogue
from hes.runtime import Runtime
from tests.ingest.fleet import ENERGY, START, add_meters, count_readings


@pytest.fixture
async def ingestor(runtime: Runtime) -> AsyncIterator[Ingestor]:
    """An ingestor on the test database."""
    ingestor = Ingestor(
        runtime.sessions, IngestSettings(), MeterDirectory(runtime.sessions), ObisCatalogue(runtime.sessions)
    )
    yield ingestor
    await ingestor.close()


def _named(rows: list[tuple[str, str, int, float]]) -> NamedReadings:
    """(meter number, OBIS text, quarter-hour, value) rows."""
    return NamedReadings(
        meter_numbers=[row[0] for row in rows],
        obis=[row[1] for row in rows],
        timestamps=[START + timedelta(minutes=15 * row[2]) for row in rows],
        values=[row[3] for row in rows],
        units=["kWh"] * len(rows),
    )


async def test_a_meter_token_sends_for_its_meter_only(runtime: Runtime, ingestor: Ingestor) -> None:
    ids = await add_meters(runtime, ["TI-1", "TI-2"], concentrator="GW-1")
    result = await take_in(
        ingestor, SenderScope(meter_id=ids["TI-1"]), _named([("TI-1", ENERGY, 0, 1.0), ("TI-2", ENERGY, 0, 2.0)])
    )
    assert result.accepted == 1
    assert [(p.item, p.index, p.meter_number, p.field, p.reason) for p in result.rejected] == [
        ("reading", 1, "TI-2", "meterNumber", "meter_not_allowed")
    ]


async def test_a_gateway_token_sends_for_its_concentrators_meters(runtime: Runtime, ingestor: Ingestor) -> None:
    await add_meters(runtime, ["TI-3", "TI-4"], concentrator="GW-2")
    await add_meters(runtime, ["TI-5"], concentrator="GW-9")
    rows = [("TI-3", ENERGY, 0, 1.0), ("TI-5", ENERGY, 0, 2.0), ("TI-4", ENERGY, 0, 3.0), ("NOPE-1", ENERGY, 0, 4.0)]
    result = await take_in(ingestor, SenderScope(concentrator_id="GW-2"), _named(rows))
    assert result.accepted == 2
    assert [(p.index, p.reason) for p in result.rejected] == [(1, "meter_not_allowed"), (3, "unknown_meter")]


async def test_refusals_at_every_stage_keep_the_senders_positions(runtime: Runtime, ingestor: Ingestor) -> None:
    meter = (await add_meters(runtime, ["TI-6"]))["TI-6"]
    rows = [
        ("TI-6", "1-0:1.8.0", 0, 1.0),  # five value groups: not an OBIS code
        ("TI-6", ENERGY, 0, 2.0),
        ("TI-6", "1-0:128.8.0.255", 0, 3.0),  # well-formed, in no catalogue
        ("TI-6", ENERGY, 1, float("inf")),  # refused by the ingestor, after the others were taken out
        ("TI-6", ENERGY, 2, 5.0),
    ]
    named = _named(rows)
    named = NamedReadings(
        named.meter_numbers, named.obis, named.timestamps, named.values, named.units, [10, 11, 12, 13, 14]
    )
    result = await take_in(ingestor, SenderScope(meter_id=meter), named)
    assert result.accepted == 2
    assert [(p.index, p.field, p.reason) for p in result.rejected] == [
        (10, "obis", "invalid_obis"),
        (12, "obis", "unknown_obis"),
        (13, "value", "not_finite"),
    ]
    assert await count_readings(runtime, meter) == 2


async def test_event_codes_are_looked_up_and_unknown_ones_kept_as_meter_events(
    runtime: Runtime, ingestor: Ingestor
) -> None:
    meter = (await add_meters(runtime, ["TI-7"]))["TI-7"]
    events = [
        NamedEvent(0, "TI-7", 44, START, {"source": "push"}),
        NamedEvent(1, "TI-7", 77, START, {}),
        NamedEvent(2, "TI-7", 4711, START, {"raw": "0x1267"}),
        NamedEvent(3, "TI-8", 1, START, {}),
        NamedEvent(4, "TI-7", 1, START, {"note": "bad\x00text"}),
    ]
    result = await take_in(ingestor, SenderScope(meter_id=meter), _named([]), events)
    assert result.events_accepted == 3
    assert [(p.item, p.index, p.reason) for p in result.rejected] == [
        ("event", 3, "unknown_meter"),
        ("event", 4, "invalid_text"),
    ]
    async with runtime.sessions() as session:
        stored = {
            row.code: (row.event_type, row.category, row.severity, row.details)
            for row in await session.scalars(select(Event).where(Event.meter_id == meter))
        }
    assert stored == {
        44: ("meter_cover_opened", EventCategory.TAMPER, Severity.ERROR, {"source": "push"}),
        77: ("under_voltage", EventCategory.POWER, Severity.WARNING, {"phase": 2}),
        4711: ("meter_event", EventCategory.TECHNICAL, Severity.INFO, {"raw": "0x1267"}),
    }
