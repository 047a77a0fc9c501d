"""The alert rules as data: which events and readings raise which alert, how severe, and the limits they use.

Generic code in `hes.services.alert_rules` reads these tables; adding a rule means adding a row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from hes.db.enums import EventCategory, Severity
from hes.obis.codes import ObisCode


class EventType(StrEnum):
    """Event names the rules know: those of the meter event code catalogue (`hes.ingest.event_codes`), the
    plainer names devices pushing over HTTP or MQTT use, and the events the HES logs itself."""

    METER_COVER_OPENED = "meter_cover_opened"
    TERMINAL_COVER_OPENED = "terminal_cover_opened"
    COVER_OPENED = "cover_opened"
    MAGNETIC_FIELD_DETECTED = "magnetic_field_detected"
    MAGNETIC_INTERFERENCE = "magnetic_interference"
    NEUTRAL_DISTURBANCE = "neutral_disturbance"
    NEUTRAL_CURRENT_MISMATCH = "neutral_current_mismatch"  # phase and neutral currents differ: a bypass
    POWER_DOWN = "power_down"
    POWER_UP = "power_up"
    POWER_FAILURE = "power_failure"
    MISSING_VOLTAGE = "missing_voltage"
    OVER_VOLTAGE = "over_voltage"
    UNDER_VOLTAGE = "under_voltage"
    CURRENT_REVERSAL = "current_reversal"
    REVERSE_FLOW = "reverse_flow"
    COMMUNICATION_LOST = "communication_lost"
    ZERO_CONSUMPTION = "zero_consumption"


class AlertType(StrEnum):
    """Kinds of alert; a meter has at most one unresolved alert of each."""

    TAMPER_COVER = "tamper_cover"
    TAMPER_MAGNETIC = "tamper_magnetic"
    TAMPER_NEUTRAL = "tamper_neutral"
    TAMPER_BYPASS = "tamper_bypass"
    TAMPER = "tamper"
    REVERSE_FLOW = "reverse_flow"
    OVER_VOLTAGE = "over_voltage"
    UNDER_VOLTAGE = "under_voltage"
    POWER_FAILURE = "power_failure"
    COMMUNICATION_LOSS = "communication_loss"
    ZERO_CONSUMPTION = "zero_consumption"


@dataclass(frozen=True, slots=True)
class AlertKind:
    """How an alert type reads: its severity and the title its message starts with."""

    alert_type: AlertType
    severity: Severity
    title: str


# Tamper and reverse flow point at energy theft, which revenue protection chases first (critical); a
# power failure takes supply away (error); the rest want a look (warning).
ALERT_KINDS: Mapping[AlertType, AlertKind] = {
    kind.alert_type: kind
    for kind in (
        AlertKind(AlertType.TAMPER_COVER, Severity.CRITICAL, "Meter or terminal cover opened"),
        AlertKind(AlertType.TAMPER_MAGNETIC, Severity.CRITICAL, "Magnetic interference"),
        AlertKind(AlertType.TAMPER_NEUTRAL, Severity.CRITICAL, "Neutral disturbance"),
        AlertKind(AlertType.TAMPER_BYPASS, Severity.CRITICAL, "Phase and neutral currents differ (bypass)"),
        AlertKind(AlertType.TAMPER, Severity.CRITICAL, "Tamper event"),
        AlertKind(AlertType.REVERSE_FLOW, Severity.CRITICAL, "Reverse energy flow"),
        AlertKind(AlertType.OVER_VOLTAGE, Severity.WARNING, "Over voltage"),
        AlertKind(AlertType.UNDER_VOLTAGE, Severity.WARNING, "Under voltage"),
        AlertKind(AlertType.POWER_FAILURE, Severity.ERROR, "Power failure"),
        AlertKind(AlertType.COMMUNICATION_LOSS, Severity.WARNING, "Communication lost"),
        AlertKind(AlertType.ZERO_CONSUMPTION, Severity.WARNING, "No consumption"),
    )
}


@dataclass(frozen=True, slots=True)
class EventRule:
    """An event of one of `event_types` raises `alert_type` for its meter."""

    event_types: frozenset[str]
    alert_type: AlertType


EVENT_RULES: tuple[EventRule, ...] = (
    EventRule(
        frozenset({EventType.METER_COVER_OPENED, EventType.TERMINAL_COVER_OPENED, EventType.COVER_OPENED}),
        AlertType.TAMPER_COVER,
    ),
    EventRule(
        frozenset({EventType.MAGNETIC_FIELD_DETECTED, EventType.MAGNETIC_INTERFERENCE}), AlertType.TAMPER_MAGNETIC
    ),
    EventRule(frozenset({EventType.NEUTRAL_DISTURBANCE}), AlertType.TAMPER_NEUTRAL),
    EventRule(frozenset({EventType.NEUTRAL_CURRENT_MISMATCH}), AlertType.TAMPER_BYPASS),
    # A missing phase voltage is a (partial) loss of supply.
    EventRule(
        frozenset({EventType.POWER_DOWN, EventType.POWER_FAILURE, EventType.MISSING_VOLTAGE}), AlertType.POWER_FAILURE
    ),
    EventRule(frozenset({EventType.COMMUNICATION_LOST}), AlertType.COMMUNICATION_LOSS),
    # A meter's own power-quality log (IDIS sag/swell events) raises the same alerts as the readings do.
    EventRule(frozenset({EventType.OVER_VOLTAGE}), AlertType.OVER_VOLTAGE),
    EventRule(frozenset({EventType.UNDER_VOLTAGE}), AlertType.UNDER_VOLTAGE),
    EventRule(frozenset({EventType.CURRENT_REVERSAL, EventType.REVERSE_FLOW}), AlertType.REVERSE_FLOW),
)


# An event that ends what an alert was raised for: the meter's alert of that type, last seen no later than the
# event, is resolved by it (an older event replayed from a backlog resolves nothing newer).
RESTORING_EVENTS: Mapping[str, AlertType] = {EventType.POWER_UP: AlertType.POWER_FAILURE}


@dataclass(frozen=True, slots=True)
class CategoryRule:
    """An event of `category` that no EventRule names raises `alert_type` when at least `min_severity`."""

    category: EventCategory
    min_severity: Severity
    alert_type: AlertType


# Brands name their tamper events in many ways; an unnamed one of warning or above still reaches an operator,
# while informational ones (cover closed again, field gone) do not.
CATEGORY_RULES: tuple[CategoryRule, ...] = (CategoryRule(EventCategory.TAMPER, Severity.WARNING, AlertType.TAMPER),)


class Bound(StrEnum):
    """Which side of its limit a reading must be on to break a rule."""

    ABOVE = "above"
    BELOW = "below"


@dataclass(frozen=True, slots=True)
class ReadingRule:
    """A reading of one of `codes` past `limit` (in `unit`) raises `alert_type` and, when it opens, an event.

    Values at or below `floor` are not judged (a phase with no supply is not under voltage: the meter's
    power-failure events speak for it).
    """

    codes: frozenset[ObisCode]
    bound: Bound
    limit: float
    unit: str
    alert_type: AlertType
    event_type: EventType
    category: EventCategory
    floor: float | None = None

    def broken_by(self, value: float) -> bool:
        """True when `value` (in `unit`) is past the limit."""
        if self.floor is not None and value <= self.floor:
            return False
        return value > self.limit if self.bound is Bound.ABOVE else value < self.limit


# IEC 62056-61 / IDIS: instantaneous voltage of L1, L2, L3.
VOLTAGES = frozenset(ObisCode.parse(code) for code in ("1-0:32.7.0.255", "1-0:52.7.0.255", "1-0:72.7.0.255"))
# Instantaneous active power: import (+P), export (-P), and the signed net value (+P minus -P).
ACTIVE_POWER_IMPORT = ObisCode.parse("1-0:1.7.0.255")
ACTIVE_POWER_EXPORT = ObisCode.parse("1-0:2.7.0.255")
ACTIVE_POWER_NET = ObisCode.parse("1-0:16.7.0.255")
# Cumulative active energy import, the register zero consumption is judged on.
ACTIVE_ENERGY_IMPORT = ObisCode.parse("1-0:1.8.0.255")


@dataclass(frozen=True, slots=True)
class RuleLimits:
    """The thresholds of the rules (from settings); voltages relative to nominal, power in watts.

    Raises:
        ValueError: a non-positive nominal voltage, power threshold or window; a tolerance outside 0-100 %.
    """

    nominal_voltage: float = 230.0
    voltage_tolerance_percent: float = 10.0
    reverse_power_w: float = 50.0
    zero_consumption_hours: int = 48

    def __post_init__(self) -> None:
        if self.nominal_voltage <= 0 or self.reverse_power_w <= 0 or self.zero_consumption_hours < 1:
            raise ValueError("nominal voltage, reverse power threshold and zero-consumption window must be positive")
        if not 0 < self.voltage_tolerance_percent < 100:
            raise ValueError("the voltage tolerance is a percentage between 0 and 100")

    @property
    def over_voltage(self) -> float:
        """Volts above which a voltage reading is over voltage (EN 50160: nominal + 10 %)."""
        return self.nominal_voltage * (1 + self.voltage_tolerance_percent / 100)

    @property
    def under_voltage(self) -> float:
        """Volts below which a voltage reading is under voltage (EN 50160: nominal - 10 %)."""
        return self.nominal_voltage * (1 - self.voltage_tolerance_percent / 100)


# A phase below a tenth of nominal has no supply rather than a low one.
_NO_SUPPLY_FRACTION = 0.1


def reading_rules(limits: RuleLimits) -> tuple[ReadingRule, ...]:
    """The reading rules with `limits` filled in.

    Reverse flow is judged on instantaneous power, not on energy registers: a meter reporting export power
    above the threshold, or a negative import or net power below minus the threshold, is running backwards
    (or has its phase and neutral swapped). Energy deltas would need the previous reading, so a second
    query per batch; the instantaneous values come with every push and poll.
    """
    voltage = EventCategory.POWER
    tamper = EventCategory.TAMPER
    threshold = limits.reverse_power_w
    return (
        ReadingRule(
            VOLTAGES, Bound.ABOVE, limits.over_voltage, "V", AlertType.OVER_VOLTAGE, EventType.OVER_VOLTAGE, voltage
        ),
        ReadingRule(
            VOLTAGES,
            Bound.BELOW,
            limits.under_voltage,
            "V",
            AlertType.UNDER_VOLTAGE,
            EventType.UNDER_VOLTAGE,
            voltage,
            floor=limits.nominal_voltage * _NO_SUPPLY_FRACTION,
        ),
        ReadingRule(
            frozenset({ACTIVE_POWER_EXPORT}),
            Bound.ABOVE,
            threshold,
            "W",
            AlertType.REVERSE_FLOW,
            EventType.REVERSE_FLOW,
            tamper,
        ),
        ReadingRule(
            frozenset({ACTIVE_POWER_IMPORT, ACTIVE_POWER_NET}),
            Bound.BELOW,
            -threshold,
            "W",
            AlertType.REVERSE_FLOW,
            EventType.REVERSE_FLOW,
            tamper,
        ),
    )
