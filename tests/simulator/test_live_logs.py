"""Event log entries from the model's events: one per event, spells with their end, long power failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hes.obis import ObisCode
from hes.simulator.live_logs import FAILURE_COUNTERS, FAILURE_REGISTERS, LOGS, LogEntry, LogKind, entries, last_code
from hes.simulator.physics import EventCode, MeterEvent

T = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
COVER = LOGS[ObisCode.parse("1-0:99.98.42.255")]
FAILURES = ObisCode.parse("0-0:99.97.0.255")


def _event(minutes: int, code: EventCode, duration: timedelta | None = None) -> MeterEvent:
    return MeterEvent(T + minutes * MINUTE, code, duration=duration)


def test_a_spell_pairs_its_start_with_the_next_end() -> None:
    events = [
        _event(0, EventCode.METER_COVER_CLOSED),  # its opening came before the events looked at: no entry
        _event(5, EventCode.METER_COVER_REMOVED),
        _event(6, EventCode.POWER_DOWN),  # not this log's
        _event(9, EventCode.METER_COVER_CLOSED),
        _event(20, EventCode.METER_COVER_REMOVED),  # still open
    ]
    assert entries(COVER, events) == [
        LogEntry(T + 5 * MINUTE, EventCode.METER_COVER_REMOVED, T + 9 * MINUTE, 4 * MINUTE),
        LogEntry(T + 20 * MINUTE, EventCode.METER_COVER_REMOVED),
    ]


def test_idis_logs_take_one_entry_per_event_in_their_log() -> None:
    events = [_event(1, EventCode.METER_COVER_REMOVED), _event(2, EventCode.REMOTE_DISCONNECTION)]
    fraud = LOGS[ObisCode.parse("0-0:99.98.1.255")]
    assert [entry.code for entry in entries(fraud, events)] == [EventCode.METER_COVER_REMOVED]
    assert last_code(ObisCode.parse("0-0:99.98.2.255"), events) == 62
    assert last_code(ObisCode.parse("0-0:99.98.4.255"), events) is None


def test_the_power_failure_log_keeps_long_failures_only() -> None:
    events = [
        _event(1, EventCode.POWER_DOWN),
        _event(2, EventCode.POWER_UP, MINUTE),  # short: 60 s < 180 s
        _event(10, EventCode.POWER_DOWN),
        _event(40, EventCode.POWER_UP, 30 * MINUTE),
    ]
    kind = LOGS[FAILURES]
    assert entries(kind, events) == [LogEntry(T + 40 * MINUTE, EventCode.POWER_UP, duration=30 * MINUTE)]
    ups = [event for event in events if event.code is EventCode.POWER_UP]
    assert FAILURE_COUNTERS[ObisCode.parse("0-0:96.7.21.255")](ups) == 2
    assert FAILURE_COUNTERS[ObisCode.parse("0-0:96.7.9.255")](ups) == 1
    assert FAILURE_REGISTERS[ObisCode.parse("0-0:96.7.19.255")](ups) == 1800.0
    assert FAILURE_REGISTERS[ObisCode.parse("0-0:96.7.19.255")]([]) == 0.0


def test_an_instant_log_lists_each_opening_event() -> None:
    kind = LogKind(frozenset({EventCode.REMOTE_CONNECTION}))
    events = [_event(1, EventCode.REMOTE_CONNECTION), _event(3, EventCode.REMOTE_CONNECTION)]
    assert [entry.at for entry in entries(kind, events)] == [T + MINUTE, T + 3 * MINUTE]
