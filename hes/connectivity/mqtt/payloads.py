"""MQTT payloads as meters send them and as HES Core sends commands, decoded with msgspec (no I/O here).

The meter is named by the topic, never by the payload. Readings come as `{"readings": [{obis, timestamp,
value, unit}]}` or as one reading object; events as `{"events": [{code, timestamp, details}]}` or one event
object. A payload whose items all decode costs one C-level pass; only a payload with a bad item is decoded
again item by item, so the bad item is named and the good ones are still stored. Whether a meter, an OBIS code,
a timestamp or a value is acceptable is the ingest path's decision (hes.ingest), not this module's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Generic, TypeAlias, TypeVar

import msgspec
from msgspec import Meta

from hes.ingest.item_decoding import decode_each, fault_of

# Most items one message may carry. The broker's max_packet_size (256 KiB) already bounds a message; this
# bounds the work one message can cause and the size of one ingest submission.
MAX_ITEMS = 5_000
MALFORMED_JSON = "malformed_json"
INVALID_PAYLOAD = "invalid_payload"
TOO_MANY_ITEMS = "too_many_items"

DetailValue: TypeAlias = str | int | float | bool | None
JsonValue: TypeAlias = str | int | float | bool | Sequence["JsonValue"] | Mapping[str, "JsonValue"] | None
CommandId: TypeAlias = int | str
_DetailText = Annotated[str, Meta(max_length=500)]
_Details = Annotated[
    dict[Annotated[str, Meta(max_length=64)], _DetailText | int | float | bool | None], Meta(max_length=32)
]


class ReadingPayload(msgspec.Struct, gc=False):
    """One reading of the topic's meter: OBIS code, time (ISO 8601 with offset), value, optional unit."""

    obis: Annotated[str, Meta(max_length=40)]
    timestamp: datetime
    value: float
    unit: Annotated[str, Meta(max_length=16)] | None = None


class EventPayload(msgspec.Struct):
    """One event of the topic's meter: its IDIS event code, time and free details."""

    code: Annotated[int, Meta(ge=0, le=2**31 - 1)]
    timestamp: datetime
    details: _Details = {}


class StatusPayload(msgspec.Struct):
    """A status message: `online` (a heartbeat) or `offline` (typically the last will); other members ignored."""

    status: Annotated[str, Meta(max_length=32)] = "online"
    timestamp: datetime | None = None


class CommandAckPayload(msgspec.Struct, rename="camel"):
    """A meter's answer to a command: which command, how it went, free details."""

    command_id: Annotated[str, Meta(max_length=64)] | int
    status: Annotated[str, Meta(max_length=32)]
    details: _Details = {}
    timestamp: datetime | None = None


class CommandMessage(msgspec.Struct, rename="camel"):
    """A command as HES Core publishes it to a meter."""

    command_id: CommandId
    payload: Mapping[str, JsonValue]
    issued_at: datetime


class _Readings(msgspec.Struct, forbid_unknown_fields=True):
    readings: Annotated[list[ReadingPayload], Meta(max_length=MAX_ITEMS)]


class _Events(msgspec.Struct, forbid_unknown_fields=True):
    events: Annotated[list[EventPayload], Meta(max_length=MAX_ITEMS)]


class _LooseReadings(msgspec.Struct, forbid_unknown_fields=True):
    readings: Annotated[list[msgspec.Raw], Meta(max_length=MAX_ITEMS)]


class _LooseEvents(msgspec.Struct, forbid_unknown_fields=True):
    events: Annotated[list[msgspec.Raw], Meta(max_length=MAX_ITEMS)]


@dataclass(frozen=True, slots=True)
class PayloadProblem:
    """What was wrong with a payload: the item (`index`, None for the whole payload), the field and why."""

    index: int | None
    field: str
    reason: str


_Item = TypeVar("_Item", ReadingPayload, EventPayload)


@dataclass(frozen=True, slots=True)
class Decoded(Generic[_Item]):
    """The items of one payload that decoded (with their index in it) and the problems of the others."""

    items: list[_Item]
    positions: list[int]
    problems: list[PayloadProblem]


_READING = msgspec.json.Decoder(ReadingPayload)
_READINGS = msgspec.json.Decoder(_Readings)
_LOOSE_READINGS = msgspec.json.Decoder(_LooseReadings)
_EVENT = msgspec.json.Decoder(EventPayload)
_EVENTS = msgspec.json.Decoder(_Events)
_LOOSE_EVENTS = msgspec.json.Decoder(_LooseEvents)
_STATUS = msgspec.json.Decoder(StatusPayload)
_COMMAND_ACK = msgspec.json.Decoder(CommandAckPayload)
_ENCODER = msgspec.json.Encoder()


def decode_readings(payload: bytes | bytearray) -> Decoded[ReadingPayload]:
    """The readings of a readings message (a batch object or one reading object)."""
    if b'"readings"' not in payload:
        return _decode_single(payload, _READING)
    try:
        return _whole(_READINGS.decode(payload).readings)
    except msgspec.ValidationError:
        pass
    except msgspec.DecodeError:
        return _malformed()
    try:
        raws = _LOOSE_READINGS.decode(payload).readings
    except msgspec.ValidationError as error:
        return _shape_problem(error)
    return _item_by_item(raws, _READING)


def decode_events(payload: bytes | bytearray) -> Decoded[EventPayload]:
    """The events of an events message (a batch object or one event object)."""
    if b'"events"' not in payload:
        return _decode_single(payload, _EVENT)
    try:
        return _whole(_EVENTS.decode(payload).events)
    except msgspec.ValidationError:
        pass
    except msgspec.DecodeError:
        return _malformed()
    try:
        raws = _LOOSE_EVENTS.decode(payload).events
    except msgspec.ValidationError as error:
        return _shape_problem(error)
    return _item_by_item(raws, _EVENT)


def decode_status(payload: bytes | bytearray) -> StatusPayload | PayloadProblem:
    """A status message: empty (a heartbeat), the bare word `online`/`offline`, or a JSON object."""
    text = payload.strip()
    if not text:
        return StatusPayload()
    if text in (b"online", b"offline"):
        return StatusPayload(status=text.decode())
    try:
        return _STATUS.decode(text)
    except msgspec.ValidationError as error:
        return _problem(None, error)
    except msgspec.DecodeError:
        return PayloadProblem(None, "payload", MALFORMED_JSON)


def decode_command_ack(payload: bytes | bytearray) -> CommandAckPayload | PayloadProblem:
    """A command acknowledgement."""
    try:
        return _COMMAND_ACK.decode(payload)
    except msgspec.ValidationError as error:
        return _problem(None, error)
    except msgspec.DecodeError:
        return PayloadProblem(None, "payload", MALFORMED_JSON)


def encode_command(message: CommandMessage) -> bytes:
    """The JSON a command is published as.

    Raises:
        TypeError: the payload holds something JSON cannot carry.
    """
    return _ENCODER.encode(message)


def _decode_single(payload: bytes | bytearray, decoder: msgspec.json.Decoder[_Item]) -> Decoded[_Item]:
    try:
        return Decoded([decoder.decode(payload)], [0], [])
    except msgspec.ValidationError as error:
        return Decoded([], [], [_problem(0, error)])
    except msgspec.DecodeError:
        return _malformed()


def _whole(items: list[_Item]) -> Decoded[_Item]:
    return Decoded(items, list(range(len(items))), [])


def _malformed() -> Decoded[_Item]:
    return Decoded([], [], [PayloadProblem(None, "payload", MALFORMED_JSON)])


def _shape_problem(error: msgspec.ValidationError) -> Decoded[_Item]:
    reason = TOO_MANY_ITEMS if "of length <=" in str(error) else INVALID_PAYLOAD
    return Decoded([], [], [PayloadProblem(None, "payload", reason)])


def _item_by_item(raws: list[msgspec.Raw], decoder: msgspec.json.Decoder[_Item]) -> Decoded[_Item]:
    decoded = decode_each(raws, decoder)
    problems = [PayloadProblem(item.index, item.fault.field, item.fault.reason) for item in decoded.undecoded]
    return Decoded(decoded.items, decoded.positions, problems)


def _problem(index: int | None, error: msgspec.ValidationError) -> PayloadProblem:
    fault = fault_of(error)
    return PayloadProblem(index, fault.field, fault.reason)
