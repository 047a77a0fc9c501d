"""Which of the physics model's events each event log of a simulated meter holds, and its entries.

Logs are a table keyed by the log's logical name (habit 10: a brand's new log is a row here):
- IDIS logs (0-0:99.98.x, Hexing too) hold one entry per event: its time and its code (IDIS event code table,
  see hes.simulator.physics.events), in the log IDIS puts it in; power down / up also go to the standard log.
- The power failure log (0-0:99.97.0 / 1-0:99.97.0) holds long failures: when the supply came back and how long
  it was away (IDIS: failures longer than the long power failure threshold).
- Hexcell keeps one log per kind of event. A log with two clock columns holds spells (start and end: a cover
  opened and closed again, a sag and the voltage back to normal); one with a single clock, instants.

The power failure counters and durations (0-0:96.7.x) come from the same events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from hes.obis import ObisCode
from hes.simulator.physics import EventCode, EventLog, MeterEvent
from hes.simulator.physics.events import EVENT_LOG_OF

__all__ = [
    "FAILURE_COUNTERS",
    "FAILURE_REGISTERS",
    "LOGS",
    "LONG_POWER_FAILURE",
    "LogEntry",
    "LogKind",
    "entries",
    "last_code",
]

# IDIS default of the long power failure threshold (0-0:96.7.20.255): 180 s.
LONG_POWER_FAILURE = timedelta(seconds=180)


@dataclass(frozen=True, slots=True)
class LogKind:
    """What one event log holds: the events that open an entry and, for spells, those that close it."""

    opens: frozenset[EventCode]
    closes: frozenset[EventCode] = frozenset()
    shortest: timedelta | None = None  # only entries whose event lasted at least this long (power failures)


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One entry of an event log: when, the event's code, when its spell ended and how long it lasted."""

    at: datetime
    code: EventCode
    ended: datetime | None = None
    duration: timedelta | None = None


def _codes(log: EventLog) -> frozenset[EventCode]:
    return frozenset(code for code, home in EVENT_LOG_OF.items() if home is log)


def _spell(opens: EventCode, closes: EventCode) -> LogKind:
    return LogKind(frozenset({opens}), frozenset({closes}))


_E = EventCode
_POWER = frozenset({_E.POWER_DOWN, _E.POWER_UP})
_LONG_FAILURES = LogKind(frozenset({_E.POWER_UP}), shortest=LONG_POWER_FAILURE)
_TAMPER_STARTS = frozenset(
    {
        _E.TERMINAL_COVER_REMOVED,
        _E.STRONG_DC_FIELD_DETECTED,
        _E.METER_COVER_REMOVED,
        _E.PHASE_NEUTRAL_CURRENT_MISMATCH,
        _E.NEUTRAL_DISTURBANCE,
    }
)

LOGS: dict[ObisCode, LogKind] = {
    # IDIS (and Hexing, built on it): one entry per event with its code.
    ObisCode(0, 0, 99, 98, 0, 255): LogKind(_codes(EventLog.STANDARD) | _POWER),
    ObisCode(0, 0, 99, 98, 1, 255): LogKind(_codes(EventLog.FRAUD)),
    ObisCode(0, 0, 99, 98, 2, 255): LogKind(_codes(EventLog.DISCONNECTOR)),
    ObisCode(0, 0, 99, 98, 4, 255): LogKind(_codes(EventLog.POWER_QUALITY)),
    ObisCode(0, 0, 99, 97, 0, 255): _LONG_FAILURES,
    ObisCode(1, 0, 99, 97, 0, 255): _LONG_FAILURES,
    # Hexcell: a log per kind of event.
    ObisCode(1, 0, 99, 98, 4, 255): _spell(_E.UNDER_VOLTAGE_L1, _E.VOLTAGE_NORMAL_L1),
    ObisCode(1, 0, 99, 98, 5, 255): _spell(_E.UNDER_VOLTAGE_L2, _E.VOLTAGE_NORMAL_L2),
    ObisCode(1, 0, 99, 98, 6, 255): _spell(_E.UNDER_VOLTAGE_L3, _E.VOLTAGE_NORMAL_L3),
    ObisCode(1, 0, 99, 98, 7, 255): _spell(_E.OVER_VOLTAGE_L1, _E.VOLTAGE_NORMAL_L1),
    ObisCode(1, 0, 99, 98, 8, 255): _spell(_E.OVER_VOLTAGE_L2, _E.VOLTAGE_NORMAL_L2),
    ObisCode(1, 0, 99, 98, 9, 255): _spell(_E.OVER_VOLTAGE_L3, _E.VOLTAGE_NORMAL_L3),
    ObisCode(1, 0, 99, 98, 19, 255): _spell(_E.NEUTRAL_DISTURBANCE, _E.NEUTRAL_DISTURBANCE_GONE),
    ObisCode(1, 0, 99, 98, 34, 255): _spell(_E.POWER_DOWN, _E.POWER_UP),
    ObisCode(1, 0, 99, 98, 37, 255): _spell(_E.PHASE_NEUTRAL_CURRENT_MISMATCH, _E.PHASE_NEUTRAL_CURRENT_EQUAL),
    ObisCode(1, 0, 99, 98, 42, 255): _spell(_E.METER_COVER_REMOVED, _E.METER_COVER_CLOSED),
    ObisCode(1, 0, 99, 98, 43, 255): _spell(_E.TERMINAL_COVER_REMOVED, _E.TERMINAL_COVER_CLOSED),
    ObisCode(1, 0, 99, 98, 46, 255): LogKind(frozenset({_E.REMOTE_DISCONNECTION})),
    ObisCode(1, 0, 99, 98, 47, 255): LogKind(frozenset({_E.REMOTE_CONNECTION})),
    ObisCode(1, 0, 99, 98, 50, 255): _spell(_E.STRONG_DC_FIELD_DETECTED, _E.STRONG_DC_FIELD_GONE),
    ObisCode(1, 0, 99, 98, 63, 255): LogKind(_TAMPER_STARTS),
}
"""Event log (profile generic) -> what it holds. Logs not listed (credit tokens, battery) stay empty."""


def entries(kind: LogKind, events: Iterable[MeterEvent]) -> list[LogEntry]:
    """The entries `events` (in time order) make in a log of `kind`, oldest first.

    A spell still going on has no end; a closing event without an open spell (it opened before the events
    looked at) makes no entry.
    """
    found: list[LogEntry] = []
    open_spell: LogEntry | None = None
    for event in events:
        if event.code in kind.opens:
            if kind.shortest is not None and (event.duration is None or event.duration < kind.shortest):
                continue
            entry = LogEntry(event.at, event.code, duration=event.duration)
            if not kind.closes:
                found.append(entry)
            elif open_spell is None:
                open_spell = entry
        elif event.code in kind.closes and open_spell is not None:
            found.append(LogEntry(open_spell.at, open_spell.code, event.at, event.at - open_spell.at))
            open_spell = None
    if open_spell is not None:
        found.append(open_spell)
    return found


def last_code(log: ObisCode, events: Sequence[MeterEvent]) -> int | None:
    """The code of the newest event written to `log` (what its event code object, 0-0:96.11.x, shows)."""
    kind = LOGS.get(log)
    found = entries(kind, events) if kind is not None else []
    return int(found[-1].code) if found else None


def _long(failures: list[MeterEvent]) -> list[MeterEvent]:
    return [e for e in failures if e.duration is not None and e.duration >= LONG_POWER_FAILURE]


def _last_duration(failures: list[MeterEvent]) -> float | None:
    durations = [e.duration for e in _long(failures) if e.duration is not None]
    return durations[-1].total_seconds() if durations else 0.0


# IDIS power failure monitoring objects (0-0:96.7.x): counters (Data) and durations (Register, seconds), each from
# the power ups since installation (a power up carries how long the supply was away).
FAILURE_COUNTERS: dict[ObisCode, Callable[[list[MeterEvent]], int]] = {
    ObisCode(0, 0, 96, 7, 21, 255): len,  # number of power failures in any phase
    ObisCode(0, 0, 96, 7, 0, 255): len,  # ... in all phases
    ObisCode(0, 0, 96, 7, 9, 255): lambda failures: len(_long(failures)),  # long power failures, any phase
    ObisCode(0, 0, 96, 7, 5, 255): lambda failures: len(_long(failures)),  # ... in all phases
}
FAILURE_REGISTERS: dict[ObisCode, Callable[[list[MeterEvent]], float | None]] = {
    ObisCode(0, 0, 96, 7, 19, 255): _last_duration,  # duration of the last long power failure, any phase
    ObisCode(0, 0, 96, 7, 15, 255): _last_duration,  # ... in all phases
}
