"""Meter clients on Socket.IO: the `meter-update` payload as the ingest path's named readings, and its ack.

Only the shape of each item is checked here; whether its meter, OBIS code, time and value may be stored is the
ingest path's decision (hes.ingest.intake.take_in), exactly as for HTTP and MQTT.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from hes.errors import InvalidInput, Problem
from hes.ingest.intake import IntakeResult, NamedReadings
from hes.realtime.payloads import Wire

# One message carries at most this many readings (engine.io refuses messages over 1 MB, ~8,000 typical readings);
# a gateway with more splits them over several messages, each acknowledged once durable.
MAX_READINGS_PER_UPDATE = 5_000
# The widest unit symbol in the OBIS catalogue is a few characters ("kvarh"); anything longer is not a unit.
_MAX_UNIT_LENGTH = 16
_MAX_METER_NUMBER_LENGTH = 32  # meters.meter_number


@dataclass(frozen=True, slots=True)
class Rejected:
    """One reading of a `meter-update` that was not taken, and why."""

    index: int
    reason: str

    def as_wire(self) -> Wire:
        """The reject as the ack lists it."""
        return {"index": self.index, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class DeviceUpdate:
    """A decoded `meter-update`: the items that are readings (with their positions) and those that are not."""

    readings: NamedReadings
    rejected: list[Rejected] = field(default_factory=list)


def readings_from_update(payload: object) -> DeviceUpdate:
    """The readings of a `meter-update`, named as the meter names them; every item that is no reading, with why.

    Raises:
        InvalidInput: the payload is not `{"readings": [...]}` or holds too many readings.
    """
    items = _reading_items(payload)
    numbers: list[str] = []
    codes: list[str] = []
    timestamps: list[datetime] = []
    values: list[float] = []
    units: list[str | None] = []
    positions: list[int] = []
    rejected: list[Rejected] = []
    for index, item in enumerate(items):
        try:
            number, code, timestamp, value, unit = _parse_item(item)
        except ValueError as error:
            rejected.append(Rejected(index, str(error)))
            continue
        numbers.append(number)
        codes.append(code)
        timestamps.append(timestamp)
        values.append(value)
        units.append(unit)
        positions.append(index)
    return DeviceUpdate(NamedReadings(numbers, codes, timestamps, values, units, positions), rejected)


def stored_ack(update: DeviceUpdate, result: IntakeResult) -> Wire:
    """The ack of an update the ingest path took: what it stored, and every refusal, its own and the parser's."""
    refused = [Rejected(problem.index, problem.reason) for problem in result.rejected]
    return ack(result.accepted, result.duplicates, [*update.rejected, *refused])


def ack(accepted: int = 0, duplicates: int = 0, rejected: Sequence[Rejected] = (), error: str | None = None) -> Wire:
    """`{accepted, duplicates, rejected: [{index, reason}], error}`, the refusals in message order."""
    return {
        "accepted": accepted,
        "duplicates": duplicates,
        "rejected": [reject.as_wire() for reject in sorted(rejected, key=lambda reject: reject.index)],
        "error": error,
    }


def _reading_items(payload: object) -> Sequence[object]:
    if not isinstance(payload, Mapping) or not isinstance(payload.get("readings"), list):
        raise InvalidInput('meter-update takes {"readings": [...]}', [Problem("must be a list", field="readings")])
    items: list[object] = payload["readings"]
    if len(items) > MAX_READINGS_PER_UPDATE:
        raise InvalidInput(
            "too many readings in one meter-update",
            [Problem(f"at most {MAX_READINGS_PER_UPDATE}, got {len(items)}", field="readings")],
        )
    return items


def _parse_item(item: object) -> tuple[str, str, datetime, float, str | None]:
    """Raises ValueError with a reason a device operator can act on."""
    if not isinstance(item, Mapping):
        raise ValueError("a reading is an object with meterNumber, obis, timestamp, value and unit")
    number = item.get("meterNumber")
    if not isinstance(number, str) or not 0 < len(number) <= _MAX_METER_NUMBER_LENGTH:
        raise ValueError("meterNumber must be text of 1 to 32 characters")
    code = item.get("obis")
    if not isinstance(code, str):
        raise ValueError("obis must be text such as 1-0:1.8.0.255")
    stamp = item.get("timestamp")
    if not isinstance(stamp, str):
        raise ValueError("timestamp must be ISO 8601 text with an offset")
    try:
        timestamp = datetime.fromisoformat(stamp)
    except ValueError:
        raise ValueError(f"timestamp {stamp[:40]!r} is not ISO 8601") from None
    value = item.get("value")
    # bool is an int subclass, and not a measurement.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("value must be a number")
    try:
        measured = float(value)
    except OverflowError:  # an integer beyond a double
        raise ValueError("value is out of range") from None
    unit = item.get("unit")
    if unit is not None and (not isinstance(unit, str) or len(unit) > _MAX_UNIT_LENGTH):
        raise ValueError("unit must be short text or null")
    return number, code, timestamp, measured, unit
