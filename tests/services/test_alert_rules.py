"""AlertRules on the real database: crafted batches raise the catalogue's alerts, normal ones touch nothing."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from hes.db.engine import make_engine, make_session_factory
from hes.db.enums import AlertStatus, EventCategory, MeterStatus, ReadingQuality, RelayState, Severity
from hes.db.store import events as event_store
from hes.db.store import obis_codes
from hes.db.store.readings import ReadingRow, write_readings
from hes.db.tables import Alert, Event, LatestReading, Meter
from hes.ingest.records import IncomingEvent, IncomingReading, MeterTouch, ReadingColumns, StoredBatch, StoredEvent
from hes.obis.codes import ObisCode
from hes.runtime import Runtime
from hes.services.alert_catalogue import RuleLimits
from hes.services.alert_rules import AlertRules, check_zero_consumption
from hes.services.alerts import AlertView
from hes.services.events import EventView

START = datetime(2024, 5, 1, 12, tzinfo=UTC)
L1, L2, L3 = (ObisCode.parse(code) for code in ("1-0:32.7.0.255", "1-0:52.7.0.255", "1-0:72.7.0.255"))
IMPORT_POWER = ObisCode.parse("1-0:1.7.0.255")
EXPORT_POWER = ObisCode.parse("1-0:2.7.0.255")
NET_POWER = ObisCode.parse("1-0:16.7.0.255")
ENERGY = ObisCode.parse("1-0:1.8.0.255")


class Recorder:
    """A notifier that keeps what it is told (the Socket.IO fan-out's stand-in; real-time is another module)."""

    def __init__(self) -> None:
        self.alerts: list[AlertView] = []
        self.events: list[EventView] = []

    async def alert_created(self, alert: AlertView) -> None:
        self.alerts.append(alert)

    async def event_logged(self, event: EventView) -> None:
        self.events.append(event)


class FailingEvents(Recorder):
    """A notifier whose event announcements fail."""

    async def event_logged(self, event: EventView) -> None:
        raise RuntimeError("socket server gone")


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every SQL statement the engine runs inside the block."""
    seen: list[str] = []

    def record(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


@pytest.fixture
async def meter(runtime: Runtime) -> MeterTouch:
    async with runtime.sessions() as session:
        row = Meter(meter_number="MTR-RULES")
        session.add(row)
        await session.commit()
        return MeterTouch(row.id, row.meter_number, None, START, came_online=False)


def _reading(meter: MeterTouch, code: ObisCode, value: float, minutes: int = 0, **fields: Any) -> IncomingReading:
    return IncomingReading(meter.meter_id, code, START + timedelta(minutes=minutes), value, **fields)


async def _batch(
    runtime: Runtime, meter: MeterTouch, readings: Sequence[IncomingReading] = (), events: Sequence[IncomingEvent] = ()
) -> StoredBatch:
    """A batch as ingest hands it on: its events already written."""
    async with runtime.sessions() as session:
        ids = await event_store.insert_events(session, events)
        await session.commit()
    return StoredBatch(ReadingColumns.of(readings), tuple(map(StoredEvent, ids, events)), (meter,))


def _event(
    meter: MeterTouch, event_type: str, category: EventCategory, severity: Severity, **fields: Any
) -> IncomingEvent:
    return IncomingEvent(meter.meter_id, event_type, START, category, severity, **fields)


async def _alerts(runtime: Runtime) -> dict[str, Alert]:
    async with runtime.sessions() as session:
        return {alert.alert_type: alert for alert in await session.scalars(select(Alert))}


async def _logged(runtime: Runtime) -> list[Event]:
    async with runtime.sessions() as session:
        return list(await session.scalars(select(Event).order_by(Event.id)))


async def test_a_normal_batch_raises_nothing_and_costs_no_database_round_trip(
    runtime: Runtime, meter: MeterTouch
) -> None:
    events = [
        _event(meter, "power_restored", EventCategory.POWER, Severity.INFO),
        _event(meter, "cover_closed", EventCategory.TAMPER, Severity.INFO),
    ]
    readings = [
        _reading(meter, L1, 231.4),
        _reading(meter, L2, 0.229, unit="kV"),
        _reading(meter, L3, 210.0),
        _reading(meter, IMPORT_POWER, 1500.0, unit="W"),
        _reading(meter, EXPORT_POWER, 20.0, unit="W"),
        _reading(meter, NET_POWER, -30.0),
        _reading(meter, ENERGY, 1234.5, unit="kWh"),
    ]
    batch = await _batch(runtime, meter, readings, events)
    notifier = Recorder()
    with statements(runtime.engine) as seen:
        await AlertRules(runtime.sessions, notifier).batch_stored(batch)
    assert seen == []
    assert notifier.alerts == []
    # The batch's own events are announced, with the meter's number from the batch.
    assert [(view.event_type, view.meter_number) for view in notifier.events] == [
        ("power_restored", "MTR-RULES"),
        ("cover_closed", "MTR-RULES"),
    ]
    assert [view.id for view in notifier.events] == [stored.id for stored in batch.events]


async def test_tamper_events_raise_their_alerts_and_repeats_count(runtime: Runtime, meter: MeterTouch) -> None:
    tamper = EventCategory.TAMPER
    events = [
        _event(meter, "cover_opened", tamper, Severity.WARNING, code=44),
        _event(meter, "terminal_cover_opened", tamper, Severity.WARNING, code=40),
        _event(meter, "magnetic_interference", tamper, Severity.ERROR, code=42),
        _event(meter, "neutral_disturbance", tamper, Severity.WARNING, code=210),
        _event(meter, "vendor_seal_broken", tamper, Severity.WARNING),  # unnamed, but a warning: "tamper"
        _event(meter, "vendor_seal_checked", tamper, Severity.INFO),  # unnamed and informational: nothing
        _event(meter, "power_failure", EventCategory.POWER, Severity.ERROR, code=1),
        _event(meter, "communication_lost", EventCategory.COMMUNICATION, Severity.WARNING),
    ]
    notifier = Recorder()
    rules = AlertRules(runtime.sessions, notifier)
    await rules.batch_stored(await _batch(runtime, meter, events=events))

    alerts = await _alerts(runtime)
    assert {name: alert.occurrences for name, alert in alerts.items()} == {
        "tamper_cover": 2,
        "tamper_magnetic": 1,
        "tamper_neutral": 1,
        "tamper": 1,
        "power_failure": 1,
        "communication_loss": 1,
    }
    assert alerts["tamper_cover"].severity is Severity.CRITICAL
    assert alerts["power_failure"].severity is Severity.ERROR
    assert alerts["tamper_magnetic"].message == "Magnetic interference (magnetic_interference, code 42)"
    assert {view.alert_type for view in notifier.alerts} == set(alerts)
    assert all(view.meter_number == "MTR-RULES" and view.status is AlertStatus.OPEN for view in notifier.alerts)
    # Event-born alerts log no event of their own: the meter's event is already in the log.
    assert len(await _logged(runtime)) == len(events)

    await rules.batch_stored(await _batch(runtime, meter, events=events[:1]))
    assert (await _alerts(runtime))["tamper_cover"].occurrences == 3
    assert len(notifier.alerts) == 6, "a repeat is counted, not announced"


async def test_voltage_readings_open_alerts_and_log_the_event_once(runtime: Runtime, meter: MeterTouch) -> None:
    readings = [
        _reading(meter, L1, 260.0),
        _reading(meter, L2, 250.0),  # within nominal + 10 %
        _reading(meter, L3, 200.0),
        _reading(meter, L1, 258.0, minutes=15),
    ]
    notifier = Recorder()
    rules = AlertRules(runtime.sessions, notifier)
    await rules.batch_stored(await _batch(runtime, meter, readings))

    alerts = await _alerts(runtime)
    assert {name: alert.occurrences for name, alert in alerts.items()} == {"over_voltage": 2, "under_voltage": 1}
    over = alerts["over_voltage"]
    assert (over.first_seen_at, over.last_seen_at) == (START, START + timedelta(minutes=15))
    assert over.message == "Over voltage: 258 V on 1-0:32.7.0.255 (above limit 253 V)"
    logged = await _logged(runtime)
    assert sorted((row.event_type, row.occurred_at, row.category.value) for row in logged) == [
        ("over_voltage", START, "power"),
        ("under_voltage", START, "power"),
    ]
    over_event = next(row for row in logged if row.event_type == "over_voltage")
    assert over_event.details == {"obis": "1-0:32.7.0.255", "value": 260.0, "unit": "V", "limit": pytest.approx(253.0)}
    assert {view.event_type for view in notifier.events} == {"over_voltage", "under_voltage"}
    assert {view.alert_type for view in notifier.alerts} == {"over_voltage", "under_voltage"}

    later = [_reading(meter, L1, 261.0, minutes=30), _reading(meter, L3, 199.0, minutes=30)]
    await rules.batch_stored(await _batch(runtime, meter, later))
    alerts = await _alerts(runtime)
    assert (alerts["over_voltage"].occurrences, alerts["under_voltage"].occurrences) == (3, 2)
    assert len(await _logged(runtime)) == 2, "the event marks the start of an excursion, not every reading"
    assert len(notifier.alerts) == 2 and len(notifier.events) == 2


async def test_reverse_flow_from_export_power_or_negative_import(runtime: Runtime, meter: MeterTouch) -> None:
    readings = [
        _reading(meter, EXPORT_POWER, 0.2, unit="kW"),  # 200 W out
        _reading(meter, IMPORT_POWER, -300.0, minutes=15, unit="W"),
        _reading(meter, NET_POWER, -40.0, minutes=30),  # within the 50 W threshold
    ]
    await AlertRules(runtime.sessions).batch_stored(await _batch(runtime, meter, readings))
    alerts = await _alerts(runtime)
    assert list(alerts) == ["reverse_flow"] and alerts["reverse_flow"].occurrences == 2
    assert alerts["reverse_flow"].severity is Severity.CRITICAL
    assert [row.event_type for row in await _logged(runtime)] == ["reverse_flow"]


async def test_a_prosumers_export_is_not_reverse_flow_but_its_other_rules_hold(
    runtime: Runtime, meter: MeterTouch
) -> None:
    async with runtime.sessions() as session:
        await session.execute(update(Meter).where(Meter.id == meter.meter_id).values(export_allowed=True))
        await session.commit()
    reversal = _event(meter, "current_reversal", EventCategory.TAMPER, Severity.CRITICAL)
    readings = [_reading(meter, EXPORT_POWER, 3.5, unit="kW"), _reading(meter, L1, 262.0, minutes=15)]
    await AlertRules(runtime.sessions).batch_stored(await _batch(runtime, meter, readings, [reversal]))

    assert list(await _alerts(runtime)) == ["over_voltage"]
    # The meter's own event stays in the log; only the alert is the prosumer's due.
    assert sorted(row.event_type for row in await _logged(runtime)) == ["current_reversal", "over_voltage"]


def _power(meter: MeterTouch, event_type: str, minutes: int) -> IncomingEvent:
    severity = Severity.INFO if event_type == "power_up" else Severity.ERROR
    return IncomingEvent(meter.meter_id, event_type, START + timedelta(minutes=minutes), EventCategory.POWER, severity)


async def test_a_power_up_resolves_the_power_failure_it_ends_and_nothing_newer(
    runtime: Runtime, meter: MeterTouch
) -> None:
    rules = AlertRules(runtime.sessions)
    await rules.batch_stored(await _batch(runtime, meter, events=[_power(meter, "power_down", 0)]))
    await rules.batch_stored(await _batch(runtime, meter, events=[_power(meter, "power_up", 7)]))
    ended = (await _alerts(runtime))["power_failure"]
    assert (ended.status, ended.resolved_by) == (AlertStatus.RESOLVED, "system")
    assert (
        ended.resolution_note
        == f"Resolved automatically: the meter reported power_up at {(START + timedelta(minutes=7)).isoformat()}"
    )

    # A backlog's power-up older than the latest failure leaves that failure open.
    await rules.batch_stored(await _batch(runtime, meter, events=[_power(meter, "power_down", 30)]))
    await rules.batch_stored(await _batch(runtime, meter, events=[_power(meter, "power_up", 20)]))
    assert await _statuses(runtime) == [AlertStatus.RESOLVED, AlertStatus.OPEN]

    # A failure and its end in one batch: raised, then resolved.
    await rules.batch_stored(await _batch(runtime, meter, events=[_power(meter, "power_up", 40)]))
    both = [_power(meter, "power_down", 50), _power(meter, "power_up", 51)]
    await rules.batch_stored(await _batch(runtime, meter, events=both))
    assert await _statuses(runtime) == [AlertStatus.RESOLVED] * 3


async def _statuses(runtime: Runtime) -> list[AlertStatus]:
    async with runtime.sessions() as session:
        return list(await session.scalars(select(Alert.status).order_by(Alert.id)))


async def test_estimates_other_quantities_and_dead_phases_are_not_judged(runtime: Runtime, meter: MeterTouch) -> None:
    readings = [
        _reading(meter, L1, 300.0, quality=ReadingQuality.ESTIMATED),
        _reading(meter, L2, 300.0, unit="A"),
        _reading(meter, L3, 0.0),
        _reading(meter, ObisCode.parse("1-0:31.7.0.255"), 300.0),
    ]
    with statements(runtime.engine) as seen:
        await AlertRules(runtime.sessions).batch_stored(await _batch(runtime, meter, readings))
    assert seen == [] and await _alerts(runtime) == {}


async def test_limits_come_from_the_constructor(runtime: Runtime, meter: MeterTouch) -> None:
    rules = AlertRules(runtime.sessions, limits=RuleLimits(nominal_voltage=120.0, voltage_tolerance_percent=5.0))
    assert rules.limits.over_voltage == pytest.approx(126.0)
    await rules.batch_stored(await _batch(runtime, meter, [_reading(meter, L1, 130.0), _reading(meter, L2, 121.0)]))
    assert {name: alert.occurrences for name, alert in (await _alerts(runtime)).items()} == {"over_voltage": 1}


async def test_a_database_that_is_down_is_logged_not_raised(
    meter: MeterTouch, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")  # nothing listens on port 1
    notifier = Recorder()
    batch = StoredBatch(ReadingColumns.of([_reading(meter, L1, 400.0)]), (), (meter,))
    try:
        with caplog.at_level(logging.ERROR, logger="hes.services.alert_rules"):
            await AlertRules(make_session_factory(engine), notifier, timeout_seconds=5).batch_stored(batch)
    finally:
        await engine.dispose()
    assert "alert rules failed on a batch of 1 readings" in caplog.text
    assert notifier.alerts == []


async def test_a_failing_notifier_stops_neither_the_alerts_nor_the_other_announcements(
    runtime: Runtime, meter: MeterTouch, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = FailingEvents()
    events = [_event(meter, "cover_opened", EventCategory.TAMPER, Severity.WARNING)]
    with caplog.at_level(logging.ERROR, logger="hes.services.alert_rules"):
        await AlertRules(runtime.sessions, notifier).batch_stored(
            await _batch(runtime, meter, [_reading(meter, L1, 270.0)], events)
        )
    assert set(await _alerts(runtime)) == {"tamper_cover", "over_voltage"}
    assert {view.alert_type for view in notifier.alerts} == {"tamper_cover", "over_voltage"}
    assert caplog.text.count("notifier failed on EventView") == 2


async def _register_history(
    runtime: Runtime, meter_id: int, points: Sequence[tuple[timedelta, float]], now: datetime
) -> None:
    """Energy register readings at `now - age`, and the newest of them as the meter's latest value."""
    async with runtime.sessions() as session:
        obis_id = (await obis_codes.get_or_create_ids(session, [ENERGY]))[ENERGY]
        rows = [ReadingRow(meter_id, obis_id, now - age, value) for age, value in points]
        await write_readings(session, rows)
        newest = max(rows, key=lambda row: row.ts)
        session.add(LatestReading(meter_id=meter_id, obis_id=obis_id, ts=newest.ts, value=newest.value))
        await session.commit()


async def test_zero_consumption_for_48_hours_raises_an_alert_per_flat_meter(runtime: Runtime) -> None:
    now = datetime(2024, 6, 10, 6, tzinfo=UTC)
    async with runtime.sessions() as session:
        meters = {
            name: Meter(meter_number=name, **{"status": MeterStatus.INSTALLED, **fields})
            for name, fields in (
                ("FLAT", {}),
                ("BUSY", {}),
                ("GONE", {"status": MeterStatus.DECOMMISSIONED}),
                ("OPEN-RELAY", {"relay_state": RelayState.DISCONNECTED}),
                ("NEW", {}),
                ("SILENT", {}),
            )
        }
        session.add_all(meters.values())
        await session.commit()
    hours = timedelta(hours=1)
    flat = [(50 * hours, 812.5), (24 * hours, 812.5), (1 * hours, 812.5)]
    await _register_history(runtime, meters["FLAT"].id, flat, now)
    await _register_history(runtime, meters["BUSY"].id, [(50 * hours, 812.5), (1 * hours, 812.6)], now)
    await _register_history(runtime, meters["GONE"].id, flat, now)
    await _register_history(runtime, meters["OPEN-RELAY"].id, flat, now)
    await _register_history(runtime, meters["NEW"].id, [(40 * hours, 5.0), (1 * hours, 5.0)], now)  # too young
    await _register_history(runtime, meters["SILENT"].id, [(60 * hours, 7.0), (49 * hours, 7.0)], now)  # not heard

    notifier = Recorder()
    async with runtime.sessions() as session:
        assert await check_zero_consumption(session, notifier, now=now) == 1
    alerts = await _alerts(runtime)
    assert list(alerts) == ["zero_consumption"] and alerts["zero_consumption"].meter_id == meters["FLAT"].id
    assert alerts["zero_consumption"].message == "No consumption for 48 h: 1-0:1.8.0.255 stayed at 812.5"
    assert [(row.event_type, row.meter_id) for row in await _logged(runtime)] == [
        ("zero_consumption", meters["FLAT"].id)
    ]
    assert [view.meter_number for view in notifier.alerts] == ["FLAT"]

    # The scheduler's entry point: the next run counts one more sighting on the open alert.
    assert await AlertRules(runtime.sessions, notifier).check_zero_consumption(now=now + hours) == 1
    assert (await _alerts(runtime))["zero_consumption"].occurrences == 2
    assert len(notifier.alerts) == 1 and len(await _logged(runtime)) == 1


async def test_zero_consumption_without_any_energy_readings_finds_nothing(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        assert await check_zero_consumption(session, Recorder()) == 0


async def test_events_written_outside_ingest_are_judged_and_announced(runtime: Runtime, meter: MeterTouch) -> None:
    lost = _event(meter, "communication_lost", EventCategory.COMMUNICATION, Severity.WARNING)
    stored = (await _batch(runtime, meter, events=[lost])).events
    notifier = Recorder()
    await AlertRules(runtime.sessions, notifier).events_stored(stored, [meter])
    assert {name: alert.occurrences for name, alert in (await _alerts(runtime)).items()} == {"communication_loss": 1}
    assert [(view.event_type, view.meter_number) for view in notifier.events] == [("communication_lost", "MTR-RULES")]
    assert [(view.alert_type, view.severity) for view in notifier.alerts] == [("communication_loss", Severity.WARNING)]
