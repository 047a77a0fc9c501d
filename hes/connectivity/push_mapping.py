"""A push's values as readings and events: the push setup's push_object_list says which object each value is.

An IDIS push (IEC 62056-6-2 push setup, class 40) is a structure of the values of its push_object_list, whose first
object is the push setup's own logical name: 0-0:25.9.0.255 for the interval push (also sent "on connectivity" as a
dial-in announcement), 0-4:25.9.0.255 for the alarm push. The list comes from the meter's brand profile (the default
of its push setup's attribute 2), else from IDIS (`IDIS_PUSH_LISTS`) for a brand without that push setup.

Register values are scaled with the brand profile's scaler and unit (a pushed register carries no scaler_unit); a
register the profile cannot scale is left out rather than stored wrongly scaled. The clock value gives the readings
their timestamp (else the notification's own date-time, else the time of receipt). The bits of alarm register 1
become events (`ALARM_REGISTER_1`). Catalogues are data (habit 10): a new push object is a row, not a branch.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeGuard

from hes import validation
from hes.connectivity.dlms.decoding import date_time, scale
from hes.connectivity.dlms.errors import MalformedAnswer
from hes.connectivity.dlms.notification import DataNotification
from hes.connectivity.dlms.reads import REGISTER_LAYOUTS
from hes.connectivity.dlms.values import CosemValue
from hes.db.enums import EventCategory, ReadingSource, Severity
from hes.ingest.records import IncomingEvent, IncomingReading
from hes.obis.codes import ObisCode
from hes.obis.profile_types import BrandProfile, ObjectReference

__all__ = [
    "ALARM_PUSH",
    "ALARM_REGISTER_1",
    "IDIS_PUSH_LISTS",
    "INTERVAL_PUSH",
    "AlarmFlag",
    "PushContents",
    "device_name",
    "map_push",
    "meter_numbers_of",
    "push_objects",
    "push_setup_of",
]

logger = logging.getLogger(__name__)

INTERVAL_PUSH = ObisCode(0, 0, 25, 9, 0, 255)
ALARM_PUSH = ObisCode(0, 4, 25, 9, 0, 255)
LOGICAL_DEVICE_NAME = ObisCode(0, 0, 42, 0, 0, 255)
CLOCK = ObisCode(0, 0, 1, 0, 0, 255)
ALARM_REGISTER_1_CODE = ObisCode(0, 0, 97, 98, 0, 255)
_PUSH_SETUP_CLASS, _DATA_CLASS, _CLOCK_CLASS = 40, 1, 8
_LOGICAL_NAME, _VALUE, _PUSH_OBJECT_LIST = 1, 2, 2
_FLAG_ID_LENGTH = 3  # a COSEM logical device name is the 3-letter FLAG id + the serial (IEC 62056-6-2 4.2.2)
# A logical device name as meters send it: printable, 4-16 characters (FLAG id + at least one of the serial).
_DEVICE_NAME = re.compile(rb"[A-Za-z0-9][A-Za-z0-9._/-]{3,15}")


def _reference(class_id: int, obis: ObisCode, attribute: int) -> ObjectReference:
    return ObjectReference(class_id, obis, attribute)


# IDIS package 2 push object lists, for brands whose profile lacks the push setup (the simulator's default too).
IDIS_PUSH_LISTS: Mapping[ObisCode, tuple[ObjectReference, ...]] = {
    INTERVAL_PUSH: (
        _reference(_PUSH_SETUP_CLASS, INTERVAL_PUSH, _LOGICAL_NAME),
        _reference(_DATA_CLASS, LOGICAL_DEVICE_NAME, _VALUE),
        _reference(_CLOCK_CLASS, CLOCK, _VALUE),
        _reference(3, ObisCode(1, 0, 1, 8, 0, 255), _VALUE),
    ),
    # The alarm push (IDIS, as the EnergyICT T210-D parser reads it): alarm register 1 after the clock.
    ALARM_PUSH: (
        _reference(_PUSH_SETUP_CLASS, ALARM_PUSH, _LOGICAL_NAME),
        _reference(_DATA_CLASS, LOGICAL_DEVICE_NAME, _VALUE),
        _reference(_CLOCK_CLASS, CLOCK, _VALUE),
        _reference(_DATA_CLASS, ALARM_REGISTER_1_CODE, _VALUE),
    ),
}


@dataclass(frozen=True, slots=True)
class AlarmFlag:
    """One bit of alarm register 1 and the event it stands for."""

    bit: int
    event_type: str
    category: EventCategory
    severity: Severity
    description: str


_TECHNICAL, _POWER, _TAMPER = EventCategory.TECHNICAL, EventCategory.POWER, EventCategory.TAMPER
# DSMR 5.0.2 alarm register 1 (0-0:97.98.0.255), as GXF/OSGP decodes it; event names follow the IDIS event code
# catalogue (hes.ingest.event_codes) where the two overlap. A fraud attempt is a tamper event of error severity,
# which the alert rules turn into a tamper alert.
ALARM_REGISTER_1: tuple[AlarmFlag, ...] = (
    AlarmFlag(0, "clock_invalid", _TECHNICAL, Severity.WARNING, "Clock invalid"),
    AlarmFlag(1, "battery_replace", _TECHNICAL, Severity.WARNING, "Replace battery"),
    AlarmFlag(2, "power_up", _POWER, Severity.INFO, "Power up"),
    AlarmFlag(3, "auxiliary_event", _TECHNICAL, Severity.INFO, "New entry in another event log"),
    AlarmFlag(4, "configuration_changed", _TECHNICAL, Severity.INFO, "Configuration changed"),
    AlarmFlag(8, "program_memory_error", _TECHNICAL, Severity.ERROR, "Program memory error"),
    AlarmFlag(9, "ram_error", _TECHNICAL, Severity.ERROR, "RAM error"),
    AlarmFlag(10, "nv_memory_error", _TECHNICAL, Severity.ERROR, "NV memory error"),
    AlarmFlag(11, "watchdog_error", _TECHNICAL, Severity.ERROR, "Watchdog error"),
    AlarmFlag(12, "measurement_system_error", _TECHNICAL, Severity.CRITICAL, "Measurement system error"),
    AlarmFlag(13, "fraud_attempt", _TAMPER, Severity.ERROR, "Fraud attempt"),
)
_ALARM_REGISTERS: Mapping[ObisCode, tuple[AlarmFlag, ...]] = {ALARM_REGISTER_1_CODE: ALARM_REGISTER_1}
UNKNOWN_ALARM = "alarm"  # a bit the table does not list: kept as a generic alarm event with its bit number


@dataclass(frozen=True, slots=True)
class PushContents:
    """What one push said: which push setup sent it, the meter's name and clock, readings and events."""

    push_setup: ObisCode
    device_name: bytes | None
    meter_time: datetime | None
    readings: tuple[IncomingReading, ...]
    events: tuple[IncomingEvent, ...]
    skipped: int = 0  # numeric values left out: no scaler for them in the brand profile


def push_setup_of(notification: DataNotification) -> ObisCode | None:
    """The logical name of the push setup that sent the push (its first value), or None when it names none."""
    values = notification.values
    first = values[0] if values else None
    return ObisCode.parse(first) if isinstance(first, bytes) and len(first) == 6 else None


def push_objects(profile: BrandProfile | None, push_setup: ObisCode) -> tuple[ObjectReference, ...] | None:
    """The push object list of `push_setup`: the brand profile's default, else IDIS's; None when neither has one."""
    spec = profile.find(push_setup) if profile is not None else None
    listed = spec.attribute(_PUSH_OBJECT_LIST) if spec is not None and spec.class_id == _PUSH_SETUP_CLASS else None
    if listed is not None and listed.references:
        return listed.references
    return IDIS_PUSH_LISTS.get(push_setup)


def device_name(notification: DataNotification) -> bytes | None:
    """The COSEM logical device name a push carries, before the sender is known (so brand-independently).

    Where IDIS's list of the push setup places it; else the first value shaped like one (printable, 4-16 octets).
    """
    values = notification.values
    push_setup = push_setup_of(notification)
    listed = IDIS_PUSH_LISTS.get(push_setup) if push_setup is not None else None
    if listed is not None and len(listed) == len(values):
        position = listed.index(_reference(_DATA_CLASS, LOGICAL_DEVICE_NAME, _VALUE))
        named = values[position]
        return named if isinstance(named, bytes) and _DEVICE_NAME.fullmatch(named) else None
    return next((value for value in values if isinstance(value, bytes) and _DEVICE_NAME.fullmatch(value)), None)


def meter_numbers_of(name: bytes) -> tuple[str, ...]:
    """The meter numbers a logical device name may stand for: the serial after the FLAG id, then the whole name."""
    text = name.decode("ascii", errors="replace")
    candidates = (text[_FLAG_ID_LENGTH:], text) if len(text) > _FLAG_ID_LENGTH else (text,)
    return tuple(number for number in dict.fromkeys(candidates) if _plausible(number))


def map_push(
    meter_id: int, profile: BrandProfile, notification: DataNotification, received_at: datetime
) -> PushContents:
    """The readings (source DLMS push) and events of one push from meter `meter_id` of brand `profile`.

    Raises:
        MalformedAnswer: the push names no push setup, one with no known push object list, or carries another
            number of values than its list has objects.
    """
    values = notification.values
    push_setup = push_setup_of(notification)
    if push_setup is None:
        raise MalformedAnswer("a push whose first value is not a push setup's logical name")
    listed = push_objects(profile, push_setup)
    if listed is None:
        raise MalformedAnswer(f"push setup {push_setup} has no known push object list")
    if len(listed) != len(values):
        raise MalformedAnswer(f"a push of {len(values)} values where {push_setup} lists {len(listed)} objects")
    pushed = list(zip(listed, values, strict=True))
    clock = next((value for ref, value in pushed if (ref.class_id, ref.obis) == (_CLOCK_CLASS, CLOCK)), None)
    meter_time = date_time(clock) if clock is not None else None
    moment = meter_time or notification.timestamp or received_at
    name = next((value for ref, value in pushed if ref.obis == LOGICAL_DEVICE_NAME), None)
    readings: list[IncomingReading] = []
    events: list[IncomingEvent] = []
    skipped = 0
    for reference, value in pushed:
        flags = _ALARM_REGISTERS.get(reference.obis)
        if flags is not None:
            events += _alarm_events(meter_id, push_setup, reference.obis, flags, value, moment)
            continue
        if _numeric(value) and _is_value(reference):
            reading = _reading(meter_id, profile, reference, value, moment)
            if reading is None:
                skipped += 1
            else:
                readings.append(reading)
    if skipped:
        logger.warning(
            "meter %d: %d pushed value(s) left out: no scaler in the %s profile", meter_id, skipped, profile.brand
        )
    return PushContents(
        push_setup, name if isinstance(name, bytes) else None, meter_time, tuple(readings), tuple(events), skipped
    )


def _reading(
    meter_id: int, profile: BrandProfile, reference: ObjectReference, value: int | float, moment: datetime
) -> IncomingReading | None:
    spec = profile.find(reference.obis)
    scaler = spec.scaler if spec is not None else None
    if scaler is None and REGISTER_LAYOUTS[reference.class_id].scaler_unit is not None:
        return None  # a register's raw value means nothing without its scaler
    scaled = scale(value, scaler) if scaler is not None else value
    unit = spec.unit_symbol if spec is not None else None
    assert isinstance(scaled, int | float)  # scale keeps numbers numbers
    return IncomingReading(meter_id, reference.obis, moment, float(scaled), unit, source=ReadingSource.DLMS_PUSH)


def _alarm_events(
    meter_id: int,
    push_setup: ObisCode,
    register: ObisCode,
    flags: tuple[AlarmFlag, ...],
    value: CosemValue,
    moment: datetime,
) -> list[IncomingEvent]:
    if not isinstance(value, int) or isinstance(value, bool):
        return []
    by_bit = {flag.bit: flag for flag in flags}
    events = []
    for bit in range(value.bit_length()):
        if not value >> bit & 1:
            continue
        flag = by_bit.get(bit)
        events.append(
            IncomingEvent(
                meter_id=meter_id,
                event_type=flag.event_type if flag is not None else UNKNOWN_ALARM,
                timestamp=moment,
                category=flag.category if flag is not None else EventCategory.TECHNICAL,
                severity=flag.severity if flag is not None else Severity.WARNING,
                details={
                    "pushSetup": str(push_setup),
                    "alarmRegister": str(register),
                    "alarmBits": value,
                    "bit": bit,
                    "description": flag.description if flag is not None else f"Alarm bit {bit}",
                },
            )
        )
    return events


def _is_value(reference: ObjectReference) -> bool:
    """Whether the attribute is the value of a data or register-like object (not its scaler, status, name...)."""
    layout = REGISTER_LAYOUTS.get(reference.class_id)
    return layout is not None and reference.attribute in layout.value


def _numeric(value: CosemValue) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _plausible(number: str) -> bool:
    try:
        validation.meter_number(number)
    except ValueError:
        return False
    return True
