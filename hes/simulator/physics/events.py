"""Meter events: the logs they belong to, their codes and the tamper status word.

Codes follow the DLMS UA IDIS event code table (IDIS package 2, also used by many national companion
specifications), each in the log IDIS puts it in:

| log (profile generic)                    | event code object  | codes used here                          |
|------------------------------------------|--------------------|------------------------------------------|
| standard event log 0-0:99.98.0.255       | 0-0:96.11.0.255    | (none yet: clock, firmware come later)   |
| fraud detection log 0-0:99.98.1.255      | 0-0:96.11.1.255    | 40/41 terminal cover removed/closed,     |
|                                          |                    | 42/43 strong DC field detected/gone,     |
|                                          |                    | 44/45 meter cover removed/closed,        |
|                                          |                    | 52/53 phase and neutral current not      |
|                                          |                    | equal / equal again (bypass),            |
|                                          |                    | 210/211 neutral disturbance start/end    |
| disconnector control log 0-0:99.98.2.255 | 0-0:96.11.2.255    | 62 remote disconnection,                 |
|                                          |                    | 63 remote connection                     |
| power quality log 0-0:99.98.4.255        | 0-0:96.11.4.255    | 76-78 under voltage (sag) L1-L3,         |
|                                          |                    | 79-81 over voltage (swell) L1-L3,        |
|                                          |                    | 85-87 voltage normal again L1-L3         |
| power failure log 1-0:99.97.0.255        | -                  | 1 power down, 2 power up (with duration) |

IDIS writes power down (1) and power up (2) in the standard event log and keeps long failures (end time
and duration) in 1-0:99.97.0.255; the model files both under POWER_FAILURE so one query finds them, and the
COSEM object model may copy them into either buffer. 52/53 come from IDIS-derived national tables rather
than IDIS itself; 210/211 are this simulator's own, from the manufacturer-specific range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum, IntFlag, StrEnum

from hes.obis.codes import ObisCode


class EventLog(StrEnum):
    """Which event log of the meter an event is written to."""

    STANDARD = "standard"
    FRAUD = "fraud"
    DISCONNECTOR = "disconnector"
    POWER_QUALITY = "power_quality"
    POWER_FAILURE = "power_failure"


EVENT_LOG_OBIS: dict[EventLog, ObisCode] = {
    EventLog.STANDARD: ObisCode(0, 0, 99, 98, 0, 255),
    EventLog.FRAUD: ObisCode(0, 0, 99, 98, 1, 255),
    EventLog.DISCONNECTOR: ObisCode(0, 0, 99, 98, 2, 255),
    EventLog.POWER_QUALITY: ObisCode(0, 0, 99, 98, 4, 255),
    EventLog.POWER_FAILURE: ObisCode(1, 0, 99, 97, 0, 255),
}
"""The profile generic object (class 7) holding each log."""


class EventCode(IntEnum):
    """Event codes written by the model (see the module table)."""

    POWER_DOWN = 1
    POWER_UP = 2
    TERMINAL_COVER_REMOVED = 40
    TERMINAL_COVER_CLOSED = 41
    STRONG_DC_FIELD_DETECTED = 42
    STRONG_DC_FIELD_GONE = 43
    METER_COVER_REMOVED = 44
    METER_COVER_CLOSED = 45
    PHASE_NEUTRAL_CURRENT_MISMATCH = 52
    PHASE_NEUTRAL_CURRENT_EQUAL = 53
    REMOTE_DISCONNECTION = 62
    REMOTE_CONNECTION = 63
    UNDER_VOLTAGE_L1 = 76
    UNDER_VOLTAGE_L2 = 77
    UNDER_VOLTAGE_L3 = 78
    OVER_VOLTAGE_L1 = 79
    OVER_VOLTAGE_L2 = 80
    OVER_VOLTAGE_L3 = 81
    VOLTAGE_NORMAL_L1 = 85
    VOLTAGE_NORMAL_L2 = 86
    VOLTAGE_NORMAL_L3 = 87
    NEUTRAL_DISTURBANCE = 210
    NEUTRAL_DISTURBANCE_GONE = 211


EVENT_LOG_OF: dict[EventCode, EventLog] = {
    EventCode.POWER_DOWN: EventLog.POWER_FAILURE,
    EventCode.POWER_UP: EventLog.POWER_FAILURE,
    EventCode.REMOTE_DISCONNECTION: EventLog.DISCONNECTOR,
    EventCode.REMOTE_CONNECTION: EventLog.DISCONNECTOR,
    **{code: EventLog.POWER_QUALITY for code in EventCode if 76 <= code <= 87},
    **{code: EventLog.FRAUD for code in EventCode if 40 <= code <= 53 or code >= 210},
}
"""The log each code is written to."""


class TamperFlag(IntFlag):
    """The meter tamper status word (Hexcell 0-0:96.5.0.255, bit-string of 8): what is going on now.

    Bit values here are Python flag values; bit 0 (value 1) is the first bit of the DLMS bit-string.
    """

    NONE = 0
    METER_COVER_OPEN = 1
    TERMINAL_COVER_OPEN = 2
    MAGNETIC_FIELD = 4
    NEUTRAL_DISTURBANCE = 8
    PHASE_NEUTRAL_MISMATCH = 16


@dataclass(frozen=True, slots=True)
class MeterEvent:
    """One entry of an event log."""

    at: datetime
    code: EventCode
    phase: int | None = None
    """1-3 for per-phase power quality events, else None."""
    duration: timedelta | None = None
    """On POWER_UP: how long the supply was away."""

    @property
    def log(self) -> EventLog:
        """The log this event is written to."""
        return EVENT_LOG_OF[self.code]
