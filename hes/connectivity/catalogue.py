"""What a collection reads from a meter, as data (habit 10): kinds, priorities, register sets, logs, status bits.

Which registers, profiles and event logs a meter has comes from its brand profile (hes.obis.profiles); the tables
here say which of a profile's objects each kind of collection takes, by interface class and OBIS value groups,
so a brand whose list file adds a register or a log is collected without a code change.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from hes.db.enums import EventCategory, Severity
from hes.obis.codes import ObisCode
from hes.obis.profile_types import BrandProfile, CosemObjectSpec
from hes.obis.profiles import available_brands, load_profile

__all__ = [
    "BILLING_PROFILES",
    "DEFAULT_BRAND",
    "LOAD_PROFILE",
    "LOG_EVENTS",
    "POLL_PRIORITY",
    "REGISTER_CLASSES",
    "REGISTER_QUANTITIES",
    "STATUS_QUALITY_BITS",
    "CollectionKind",
    "LogEvent",
    "Priority",
    "Quantity",
    "billing_profiles",
    "brand_profile",
    "capture_period",
    "event_logs",
    "has_load_profile",
    "is_amr_status",
    "main_registers",
    "profile_channel",
    "profile_name",
]

DEFAULT_BRAND = "idis"  # the generic IDIS profile serves meters of a brand without a list file of its own
LOAD_PROFILE = ObisCode(1, 0, 99, 1, 0, 255)
# Daily, then monthly billing values (IDIS 0-0:98.2.0 / 0-0:98.1.0): read whichever the brand lists.
BILLING_PROFILES = (ObisCode(0, 0, 98, 2, 0, 255), ObisCode(0, 0, 98, 1, 0, 255))
REGISTER_CLASSES = frozenset({1, 3, 4, 5})  # data, register, extended register, demand register
_PROFILE_CLASS, _CLOCK_CLASS, _CLOCK_TIME = 7, 8, 2
_DEFAULT_CAPTURE_PERIOD = 900  # seconds: the 15-minute load profile of IDIS and both brand lists


class CollectionKind(StrEnum):
    """What one collection job reads."""

    REGISTERS = "registers"  # the clock (and its drift) and the brand's main registers
    LOAD_PROFILE = "load_profile"  # 1-0:99.1.0.255 since the last stored interval
    BILLING = "billing"  # daily and monthly billing profiles
    EVENTS = "events"  # the standard event log and the brand's other logs


class Priority:
    """Job priorities, 0-9, higher first (OSGP's range): what a person waits for goes before polling."""

    ON_DEMAND = 8
    COMMAND = 7
    URGENT = 7  # from here on a job ignores its meter's retry back-off: someone is waiting for it
    POLL_REGISTERS = 4
    POLL_PROFILE = 3
    RECOLLECT = 2


# Polling: the registers (what the console shows as "now") go before the profiles and logs of the same wave.
POLL_PRIORITY: Mapping[CollectionKind, int] = {
    CollectionKind.REGISTERS: Priority.POLL_REGISTERS,
    CollectionKind.LOAD_PROFILE: Priority.POLL_PROFILE,
    CollectionKind.BILLING: Priority.POLL_PROFILE,
    CollectionKind.EVENTS: Priority.POLL_PROFILE,
}


@dataclass(frozen=True, slots=True)
class Quantity:
    """A measured quantity by OBIS value groups C (quantity) and D (processing); any tariff E, current values."""

    name: str
    c: frozenset[int]
    d: int
    medium: int = 1  # value group A: 1 electricity, 0 abstract (status words)

    def matches(self, code: ObisCode) -> bool:
        """Whether `code` is this quantity's current value (F = 255), whatever its tariff rate (E)."""
        return code.a == self.medium and code.c in self.c and code.d == self.d and code.f == 255


# IEC 62056-61 value group C: 1/2 active +/-, 3/4 reactive +/-, 9/10 apparent +/-, 15 active |+|+|-|, 93 the
# Hexcell list's total reactive; D = 8 time integral (energy registers, E = 0 total, 1..n TOU rates). Voltage
# 12 (any phase) 32/52/72 (L1-L3), current 11/31/51/71 and 91 (neutral), frequency 14, power factor 13 and
# 33/53/73, D = 7 instantaneous. 0-0:96.5.x is the status word with the tamper flags.
REGISTER_QUANTITIES: tuple[Quantity, ...] = (
    Quantity("energy", frozenset({1, 2, 3, 4, 9, 10, 15, 93}), 8),
    Quantity("voltage", frozenset({12, 32, 52, 72}), 7),
    Quantity("current", frozenset({11, 31, 51, 71, 91}), 7),
    Quantity("frequency", frozenset({14}), 7),
    Quantity("power_factor", frozenset({13, 33, 53, 73}), 7),
    Quantity("status_word", frozenset({96}), 5, medium=0),
)


@dataclass(frozen=True, slots=True)
class LogEvent:
    """The event an entry of a log without an event code column stands for: a catalogue code, or a HES type."""

    code: int | None = None  # an IDIS event code (hes.ingest.event_codes); None: the fields below
    event_type: str = "meter_event"
    category: EventCategory = EventCategory.TECHNICAL
    severity: Severity = Severity.INFO


def _code(code: int) -> LogEvent:
    return LogEvent(code)


_LONG_POWER_FAILURE = LogEvent(None, "long_power_failure", EventCategory.POWER, Severity.WARNING)
# Logs whose rows carry no event code: IDIS power failure logs (time the supply came back, how long it was away)
# and the Hexcell list's one-log-per-event-kind (the simulator writes them so: hes/simulator/live_logs.py).
LOG_EVENTS: Mapping[ObisCode, LogEvent] = {
    ObisCode(0, 0, 99, 97, 0, 255): _LONG_POWER_FAILURE,
    ObisCode(1, 0, 99, 97, 0, 255): _LONG_POWER_FAILURE,
    ObisCode(1, 0, 99, 98, 1, 255): _code(82),  # L1 loss of voltage: missing voltage L1
    ObisCode(1, 0, 99, 98, 2, 255): _code(83),
    ObisCode(1, 0, 99, 98, 3, 255): _code(84),
    ObisCode(1, 0, 99, 98, 4, 255): _code(76),  # under voltage L1..L3
    ObisCode(1, 0, 99, 98, 5, 255): _code(77),
    ObisCode(1, 0, 99, 98, 6, 255): _code(78),
    ObisCode(1, 0, 99, 98, 7, 255): _code(79),  # over voltage L1..L3
    ObisCode(1, 0, 99, 98, 8, 255): _code(80),
    ObisCode(1, 0, 99, 98, 9, 255): _code(81),
    ObisCode(1, 0, 99, 98, 19, 255): _code(210),  # neutral disturbance
    ObisCode(1, 0, 99, 98, 21, 255): _code(91),  # current reversal (total and per phase)
    ObisCode(1, 0, 99, 98, 22, 255): _code(91),
    ObisCode(1, 0, 99, 98, 23, 255): _code(91),
    ObisCode(1, 0, 99, 98, 24, 255): _code(91),
    ObisCode(1, 0, 99, 98, 34, 255): _code(1),  # power off
    ObisCode(1, 0, 99, 98, 37, 255): _code(52),  # current bypass: phase and neutral currents differ
    ObisCode(1, 0, 99, 98, 42, 255): _code(44),  # meter cover opened
    ObisCode(1, 0, 99, 98, 43, 255): _code(40),  # terminal cover opened
    ObisCode(1, 0, 99, 98, 46, 255): _code(62),  # relay off (remote disconnection)
    ObisCode(1, 0, 99, 98, 47, 255): _code(63),  # relay on (remote connection)
    ObisCode(1, 0, 99, 98, 50, 255): _code(42),  # strong DC field
    ObisCode(1, 0, 99, 98, 64, 255): _code(90),  # voltage imbalance: phase asymmetry
    ObisCode(1, 0, 99, 98, 101, 255): _code(8),  # battery low
}

# IDIS AMR profile status (0-0:96.10.x, a load profile column): bits that make the row's values suspect.
# Bit 0 critical error, bit 1 clock invalid, bit 2 data not valid (IDIS package 2, 4.6.1).
STATUS_QUALITY_BITS = 0b0000_0111
_AMR_STATUS = (0, 0, 96, 10)


def profile_name(brand: str | None) -> str:
    """The brand profile a meter of `brand` (as its record spells it) is read with: its own, else generic IDIS."""
    name = (brand or "").strip().lower()
    return name if name in available_brands() else DEFAULT_BRAND


def brand_profile(brand: str | None) -> BrandProfile:
    """The brand profile of a meter of `brand`."""
    return load_profile(profile_name(brand))


def is_amr_status(code: ObisCode) -> bool:
    """Whether `code` is an AMR profile status object (its value qualifies a profile row)."""
    return (code.a, code.b, code.c, code.d) == _AMR_STATUS


@functools.cache
def main_registers(brand: str) -> tuple[ObisCode, ...]:
    """The registers a collection (and an on-demand read without codes) reads for `brand`, in profile order."""
    profile = load_profile(brand)
    return tuple(
        spec.obis
        for spec in profile
        if spec.class_id in REGISTER_CLASSES and any(quantity.matches(spec.obis) for quantity in REGISTER_QUANTITIES)
    )


@functools.cache
def event_logs(brand: str) -> tuple[ObisCode, ...]:
    """The brand's event logs (profile generics 99.98.x and the power failure logs 99.97.x) with a clock column.

    Logs without a clock (the Hexcell credit token logs) cannot be read by date and are left to other readers.
    """
    profile = load_profile(brand)
    return tuple(
        spec.obis
        for spec in profile
        if spec.class_id == _PROFILE_CLASS and spec.obis.c == 99 and spec.obis.d in (97, 98) and _timed(spec)
    )


@functools.cache
def billing_profiles(brand: str) -> tuple[ObisCode, ...]:
    """The billing profiles `brand` lists (daily first)."""
    profile = load_profile(brand)
    return tuple(code for code in BILLING_PROFILES if profile.find(code) is not None)


@functools.cache
def profile_channel(brand: str, code: ObisCode = LOAD_PROFILE) -> ObisCode | None:
    """The first register a profile captures (what tells whether an interval is stored), per the brand list."""
    spec = load_profile(brand).find(code)
    captures = spec.capture_objects if spec is not None else ()
    return next((ref.obis for ref in captures if ref.class_id in (3, 4, 5) and ref.attribute == 2), None)


def has_load_profile(brand: str) -> bool:
    """Whether `brand` lists the load profile 1-0:99.1.0.255."""
    return load_profile(brand).find(LOAD_PROFILE) is not None


@functools.cache
def capture_period(brand: str, code: ObisCode = LOAD_PROFILE) -> int:
    """A profile's capture period in seconds, as the brand list's default says (else 15 minutes)."""
    spec = load_profile(brand).find(code)
    period = spec.attribute(4) if spec is not None else None
    try:
        value = int(period.default) if period is not None and period.default else _DEFAULT_CAPTURE_PERIOD
    except ValueError:
        value = _DEFAULT_CAPTURE_PERIOD
    return value if value > 0 else _DEFAULT_CAPTURE_PERIOD


def _timed(spec: CosemObjectSpec) -> bool:
    captures = spec.capture_objects
    return not captures or any((ref.class_id, ref.attribute) == (_CLOCK_CLASS, _CLOCK_TIME) for ref in captures)
