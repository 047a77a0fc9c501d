"""The online/offline check: flips by last contact and expected interval, communication-lost events, restarts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hes.db.enums import AlertStatus, ConnectionMode, EventCategory, MeterStatus, Severity
from hes.db.tables import Alert, Area, Event, Meter
from hes.runtime import Runtime
from hes.services.alert_catalogue import AlertType
from hes.services.meter_status import (
    COMMUNICATION_LOST,
    RESTORED_NOTE,
    MeterStatusMonitor,
    StatusChange,
    StatusDefaults,
    check_meter_status,
)

NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)
# Outbound meters polled every 15 min, push meters every hour: offline after 2 intervals + 2 min.
DEFAULTS = StatusDefaults(
    intervals_s={**dict.fromkeys(ConnectionMode, 900), ConnectionMode.PUSH: 3600}, missed_intervals=2, grace_s=120
)


def _ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


async def _meters(runtime: Runtime, *meters: Meter) -> None:
    async with runtime.sessions() as session:
        area = Area(code="REG", name="Region")
        session.add(area)
        await session.flush()
        for meter in meters:
            meter.area_id = area.id
        session.add_all(meters)
        await session.commit()


async def _check(runtime: Runtime, now: datetime = NOW) -> dict[str, tuple[MeterStatus, MeterStatus]]:
    async with runtime.sessions() as session:
        changes = await check_meter_status(session, now, DEFAULTS)
    return {change.meter_number: (change.previous_status, change.status) for change in changes}


async def _statuses(runtime: Runtime) -> dict[str, MeterStatus]:
    async with runtime.sessions() as session:
        rows = await session.execute(select(Meter.meter_number, Meter.status))
        return {number: status for number, status in rows.tuples()}


async def _events(runtime: Runtime) -> list[Event]:
    async with runtime.sessions() as session:
        return list(await session.scalars(select(Event).order_by(Event.id)))


async def test_meters_flip_by_their_expected_interval(runtime: Runtime) -> None:
    await _meters(
        runtime,
        Meter(meter_number="ON-FRESH", status=MeterStatus.ONLINE, last_seen_at=_ago(31)),
        Meter(meter_number="ON-STALE", status=MeterStatus.ONLINE, last_seen_at=_ago(33)),
        Meter(meter_number="OFF-BACK", status=MeterStatus.OFFLINE, last_seen_at=_ago(1)),
        Meter(meter_number="OFF-STILL", status=MeterStatus.OFFLINE, last_seen_at=_ago(600)),
        Meter(
            meter_number="PUSH-FRESH",
            status=MeterStatus.ONLINE,
            last_seen_at=_ago(100),
            connection_mode=ConnectionMode.PUSH,
        ),
        Meter(
            meter_number="PUSH-STALE",
            status=MeterStatus.ONLINE,
            last_seen_at=_ago(123),
            connection_mode=ConnectionMode.PUSH,
        ),
        # A meter's own interval wins over its connection mode's default.
        Meter(meter_number="OWN-60S", status=MeterStatus.ONLINE, last_seen_at=_ago(5), expected_interval_s=60),
        Meter(meter_number="OWN-DAILY", status=MeterStatus.ONLINE, last_seen_at=_ago(600), expected_interval_s=86400),
        Meter(meter_number="INST-SEEN", status=MeterStatus.INSTALLED, last_seen_at=_ago(2)),
        Meter(meter_number="INST-OLD", status=MeterStatus.INSTALLED, last_seen_at=_ago(600)),
        # Outside the check's business.
        Meter(meter_number="FAULTY", status=MeterStatus.FAULTY, last_seen_at=_ago(600)),
        Meter(meter_number="STORE", status=MeterStatus.WAREHOUSE, last_seen_at=_ago(1)),
    )
    online, offline, installed = MeterStatus.ONLINE, MeterStatus.OFFLINE, MeterStatus.INSTALLED
    assert await _check(runtime) == {
        "ON-STALE": (online, offline),
        "OFF-BACK": (offline, online),
        "PUSH-STALE": (online, offline),
        "OWN-60S": (online, offline),
        "INST-SEEN": (installed, online),
        "INST-OLD": (installed, offline),
    }
    statuses = await _statuses(runtime)
    assert (statuses["FAULTY"], statuses["STORE"], statuses["OWN-DAILY"]) == (
        MeterStatus.FAULTY,
        MeterStatus.WAREHOUSE,
        MeterStatus.ONLINE,
    )
    # Nothing changed since: the next check makes no transitions.
    assert await _check(runtime) == {}


async def test_each_online_to_offline_transition_logs_communication_lost(runtime: Runtime) -> None:
    await _meters(
        runtime,
        Meter(meter_number="LOST", status=MeterStatus.ONLINE, last_seen_at=_ago(40)),
        Meter(meter_number="NEVER-ONLINE", status=MeterStatus.INSTALLED, last_seen_at=_ago(600)),
    )
    await _check(runtime)
    [event] = await _events(runtime)
    assert (event.event_type, event.category, event.severity) == (
        COMMUNICATION_LOST,
        EventCategory.COMMUNICATION,
        Severity.WARNING,
    )
    assert event.occurred_at == NOW
    assert event.details == {"lastSeenAt": _ago(40).isoformat(), "expectedIntervalS": 900, "allowedSilenceS": 1920}


async def test_after_a_restart_nothing_is_assumed(runtime: Runtime) -> None:
    await _meters(
        runtime,
        # "online" carried over from before the restart, but never heard from: offline, with an event.
        Meter(meter_number="CLAIMED", status=MeterStatus.ONLINE, last_seen_at=None),
        Meter(meter_number="NEW", status=MeterStatus.INSTALLED, last_seen_at=None),
        Meter(meter_number="GONE", status=MeterStatus.OFFLINE, last_seen_at=None),
    )
    assert await _check(runtime) == {"CLAIMED": (MeterStatus.ONLINE, MeterStatus.OFFLINE)}
    assert [event.details for event in await _events(runtime)] == [
        {"lastSeenAt": None, "expectedIntervalS": 900, "allowedSilenceS": 1920}
    ]


async def test_changes_carry_what_the_rooms_need(runtime: Runtime) -> None:
    await _meters(runtime, Meter(meter_number="LOST", status=MeterStatus.ONLINE, last_seen_at=_ago(40)))
    async with runtime.sessions() as session:
        [change] = await check_meter_status(session, NOW, DEFAULTS)
    assert change == StatusChange(
        change.meter_id, "LOST", "REG", MeterStatus.ONLINE, MeterStatus.OFFLINE, _ago(40), NOW, change.lost_event
    )
    assert change.lost_event is not None
    assert change.lost_event.event.event_type == "communication_lost"
    assert change.lost_event.event.meter_id == change.meter_id


async def _open_alerts(runtime: Runtime, *wanted: tuple[str, AlertType, AlertStatus]) -> None:
    async with runtime.sessions() as session:
        ids = dict((await session.execute(select(Meter.meter_number, Meter.id))).tuples().all())
        session.add_all(
            Alert(
                meter_id=ids[number],
                alert_type=alert_type,
                severity=Severity.WARNING,
                status=status,
                message="raised earlier",
                first_seen_at=_ago(120),
                last_seen_at=_ago(120),
            )
            for number, alert_type, status in wanted
        )
        await session.commit()


async def _alerts(runtime: Runtime) -> dict[tuple[str, str], Alert]:
    async with runtime.sessions() as session:
        rows = await session.execute(select(Meter.meter_number, Alert).join(Meter, Meter.id == Alert.meter_id))
        return {(number, alert.alert_type): alert for number, alert in rows.tuples()}


async def test_communication_loss_alerts_of_meters_heard_from_again_are_resolved(runtime: Runtime) -> None:
    await _meters(
        runtime,
        Meter(meter_number="BACK", status=MeterStatus.ONLINE, last_seen_at=_ago(1)),  # ingest already flipped it
        Meter(meter_number="FLIPS-BACK", status=MeterStatus.OFFLINE, last_seen_at=_ago(2)),
        Meter(meter_number="SILENT", status=MeterStatus.OFFLINE, last_seen_at=_ago(600)),
    )
    loss = AlertType.COMMUNICATION_LOSS
    await _open_alerts(
        runtime,
        ("BACK", loss, AlertStatus.ACKNOWLEDGED),
        ("BACK", AlertType.TAMPER_COVER, AlertStatus.OPEN),
        ("FLIPS-BACK", loss, AlertStatus.OPEN),
        ("SILENT", loss, AlertStatus.OPEN),
    )
    assert await _check(runtime) == {"FLIPS-BACK": (MeterStatus.OFFLINE, MeterStatus.ONLINE)}

    alerts = await _alerts(runtime)
    for number in ("BACK", "FLIPS-BACK"):
        restored = alerts[(number, loss)]
        assert (restored.status, restored.resolved_at, restored.resolved_by) == (AlertStatus.RESOLVED, NOW, "system")
        assert restored.resolution_note == RESTORED_NOTE
    # A meter still silent keeps its alert; another kind of alert is a person's to resolve.
    assert alerts[("SILENT", loss)].status is AlertStatus.OPEN
    assert alerts[("BACK", AlertType.TAMPER_COVER)].status is AlertStatus.OPEN


def test_defaults_refuse_nonsense() -> None:
    with pytest.raises(ValueError):
        StatusDefaults(missed_intervals=0)
    with pytest.raises(ValueError):
        StatusDefaults(intervals_s={ConnectionMode.OUTBOUND: 0})
    assert StatusDefaults().allowed_silence(900) == timedelta(seconds=1920)


async def test_the_monitor_hands_each_checks_changes_on(runtime: Runtime) -> None:
    await _meters(runtime, Meter(meter_number="LOST", status=MeterStatus.ONLINE, last_seen_at=_ago(40)))
    handed: list[Sequence[StatusChange]] = []

    async def on_changes(changes: Sequence[StatusChange]) -> None:
        handed.append(changes)

    monitor = MeterStatusMonitor(runtime.sessions, DEFAULTS, on_changes=on_changes, clock=lambda: NOW)
    changes = await monitor.run_once()
    assert [change.meter_number for change in changes] == ["LOST"]
    assert await monitor.run_once() == []  # idempotent, and nothing to hand on
    assert [[change.meter_number for change in changes] for changes in handed] == [["LOST"]]
