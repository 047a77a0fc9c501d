"""Meter clients on Socket.IO: device-token sign-in and the `meter-update` payload turned into ingest readings."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.enums import ReadingSource
from hes.db.store import meter_contact
from hes.errors import AuthenticationFailed, InvalidInput, Problem
from hes.ingest.intake import SenderScope, refused_meters
from hes.ingest.records import IncomingReading
from hes.obis.codes import ObisCode
from hes.services import device_tokens

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

    def as_wire(self) -> dict[str, object]:
        """The reject as the ack lists it."""
        return {"index": self.index, "reason": self.reason}


async def grant_for(session: AsyncSession, token: object) -> SenderScope:
    """The meters a device token may send for; asked of the database each time, so a revocation stops it at once.

    Raises:
        AuthenticationFailed: the token is missing, not text, unknown or revoked.
    """
    if not isinstance(token, str) or not token:
        raise AuthenticationFailed("missing device token")
    return await device_tokens.sender_of(session, token)


@dataclass(frozen=True, slots=True)
class DeviceUpdate:
    """A decoded `meter-update`: readings to submit, the position of each in the message, and what was refused."""

    readings: list[IncomingReading]
    positions: list[int]
    rejected: list[Rejected]


async def readings_from_update(session: AsyncSession, scope: SenderScope, payload: object) -> DeviceUpdate:
    """The readings of a `meter-update` the token's scope covers, and every reading refused with its reason.

    Raises:
        InvalidInput: the payload is not `{"readings": [...]}` or holds too many readings.
    """
    items = _reading_items(payload)
    parsed: list[tuple[int, str, ObisCode, datetime, float, str | None]] = []
    rejected: list[Rejected] = []
    for index, item in enumerate(items):
        try:
            parsed.append((index, *_parse_item(item)))
        except ValueError as error:
            rejected.append(Rejected(index, str(error)))
    numbers = {number for _, number, *_ in parsed}
    meters = {meter.meter_number: meter for meter in await meter_contact.by_numbers(session, numbers)}
    refused = refused_meters(scope, numbers, meters)
    update = DeviceUpdate([], [], rejected)
    for index, number, obis, timestamp, value, unit in parsed:
        if number in refused:
            rejected.append(Rejected(index, f"meter {number!r} is unknown or not covered by this device token"))
            continue
        update.readings.append(
            IncomingReading(meters[number].id, obis, timestamp, value, unit, source=ReadingSource.SOCKETIO)
        )
        update.positions.append(index)
    return update


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


def _parse_item(item: object) -> tuple[str, ObisCode, datetime, float, str | None]:
    """Raises ValueError with a reason a device operator can act on."""
    if not isinstance(item, Mapping):
        raise ValueError("a reading is an object with meterNumber, obis, timestamp, value and unit")
    number = item.get("meterNumber")
    if not isinstance(number, str) or not 0 < len(number) <= _MAX_METER_NUMBER_LENGTH:
        raise ValueError("meterNumber must be text of 1 to 32 characters")
    obis_text = item.get("obis")
    if not isinstance(obis_text, str):
        raise ValueError("obis must be text such as 1-0:1.8.0.255")
    obis = ObisCode.parse(obis_text)
    stamp = item.get("timestamp")
    if not isinstance(stamp, str):
        raise ValueError("timestamp must be ISO 8601 text with an offset")
    try:
        timestamp = datetime.fromisoformat(stamp)
    except ValueError:
        raise ValueError(f"timestamp {stamp[:40]!r} is not ISO 8601") from None
    if timestamp.tzinfo is None:
        raise ValueError("timestamp needs an offset (e.g. 2024-05-01T12:00:00Z)")
    value = item.get("value")
    # bool is an int subclass; NaN, infinity and integers beyond a double cannot be stored as a measurement.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("value must be a finite number")
    try:
        measured = float(value)
    except OverflowError:
        raise ValueError("value is out of range") from None
    if not math.isfinite(measured):
        raise ValueError("value must be a finite number")
    unit = item.get("unit")
    if unit is not None and (not isinstance(unit, str) or len(unit) > _MAX_UNIT_LENGTH):
        raise ValueError("unit must be short text or null")
    return number, obis, timestamp, measured, unit
