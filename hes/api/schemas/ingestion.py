"""Wire schemas of meter data ingestion (msgspec: the hot path) and of device tokens (pydantic).

The ingestion body is decoded by msgspec straight into typed structs and then into columns: pydantic
there costs about 3x (notes/performance.md). A body whose items all decode takes one C-level pass; only
when an item is wrong is the body decoded again item by item, so every bad item is named and the good
ones are still stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from hes.api.schemas.common import CamelModel
from hes.errors import HESError, InvalidInput, Problem
from hes.ingest.intake import DetailValue, IntakeResult, ItemProblem, NamedEvent, NamedReadings
from hes.ingest.item_decoding import Undecoded, decode_each
from hes.ingest.normalise import MAX_ABS_VALUE
from hes.services.device_tokens import DeviceTokenScope, IssuedToken

_ECHO_LIMIT = 40
MeterNumberText = Annotated[str, Meta(max_length=32, description="The meter's number (serial)", examples=["MTR-0001"])]
Timestamp = Annotated[datetime, Meta(tz=True, description="ISO 8601 with offset, e.g. 2025-01-31T10:15:00Z")]
DetailText = Annotated[str, Meta(max_length=500)]


class ReadingIn(msgspec.Struct, rename="camel", gc=False):
    """One reading: meter, OBIS code, time, value (unit optional)."""

    meter_number: MeterNumberText
    obis: Annotated[str, Meta(max_length=40, description="OBIS code A-B:C.D.E.F", examples=["1-0:1.8.0.255"])]
    timestamp: Timestamp
    value: Annotated[float, Meta(ge=-MAX_ABS_VALUE, le=MAX_ABS_VALUE, description="Finite number")]
    unit: (
        Annotated[
            str,
            Meta(
                max_length=16,
                examples=["kWh"],
                description="Stored in the code's unit: kWh for a Wh register is converted, another quantity refused"
                " (wrong_unit); absent means the code's unit",
            ),
        ]
        | None
    ) = None


class EventIn(msgspec.Struct, rename="camel"):
    """One meter event: its IDIS event code (e.g. 40 terminal cover removed), time and free details."""

    meter_number: MeterNumberText
    code: Annotated[int, Meta(ge=0, le=2**31 - 1, description="Meter event code (IDIS table)", examples=[40])]
    timestamp: Timestamp
    details: Annotated[
        dict[Annotated[str, Meta(max_length=64)], DetailText | int | float | bool | None], Meta(max_length=32)
    ] = {}


class IngestionBody(msgspec.Struct, forbid_unknown_fields=True):
    """A batch of readings and events for one or many meters."""

    readings: list[ReadingIn] = []
    events: list[EventIn] = []


class _LooseBody(msgspec.Struct, forbid_unknown_fields=True):
    """The same body with items left undecoded, to name each bad item."""

    readings: list[msgspec.Raw] = []
    events: list[msgspec.Raw] = []


class RejectedItem(msgspec.Struct, rename="camel"):
    """A refused reading or event: which one (`item`, `index` in its list), which field, why."""

    item: str
    index: int
    meter_number: str | None
    field: str
    reason: str
    value: str | int | float | bool | None = None


class IngestionAnswer(msgspec.Struct, rename="camel"):
    """What was stored: new readings, repeats of stored ones (not errors), events, and every refused item."""

    accepted: int
    duplicates: int
    events_accepted: int
    events_duplicates: int
    rejected: list[RejectedItem]


class MalformedJson(HESError):
    """The body is not JSON at all (HTTP 400)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="malformed_json")


@dataclass(frozen=True, slots=True)
class DecodedBody:
    """The body in column form, plus the items that did not decode."""

    readings: NamedReadings
    events: list[NamedEvent]
    rejected: list[ItemProblem]


_BODY = msgspec.json.Decoder(IngestionBody)
_LOOSE = msgspec.json.Decoder(_LooseBody)
_READING = msgspec.json.Decoder(ReadingIn)
_EVENT = msgspec.json.Decoder(EventIn)
_ANSWER = msgspec.json.Encoder()


def decode_body(body: bytes) -> DecodedBody:
    """The ingestion body as columns and events; bad items are listed, not fatal.

    Raises:
        MalformedJson: not JSON.
        InvalidInput: JSON of the wrong shape (not an object, unknown member, `readings` not a list).
    """
    try:
        decoded = _BODY.decode(body)
    except msgspec.ValidationError:
        return _decode_item_by_item(body)
    except msgspec.DecodeError as error:
        raise MalformedJson(f"the body is not JSON: {error}") from None
    return DecodedBody(_named(decoded.readings, None), _events(enumerate(decoded.events)), [])


def encode_answer(result: IntakeResult, rejected_while_decoding: Sequence[ItemProblem]) -> bytes:
    """The 202 answer's JSON."""
    problems = sorted(
        [*rejected_while_decoding, *result.rejected], key=lambda problem: (problem.item != "reading", problem.index)
    )
    return _ANSWER.encode(
        IngestionAnswer(
            accepted=result.accepted,
            duplicates=result.duplicates,
            events_accepted=result.events_accepted,
            events_duplicates=result.events_duplicates,
            rejected=[RejectedItem(p.item, p.index, p.meter_number, p.field, p.reason, p.value) for p in problems],
        )
    )


def openapi_extra() -> dict[str, Any]:
    """The request body and 202 answer for OpenAPI, as JSON Schema generated by msgspec from the structs."""
    example = {
        "readings": [
            {"meterNumber": "MTR-0001", "obis": "1-0:1.8.0.255", "timestamp": "2025-01-31T10:15:00Z", "value": 1234.5,
             "unit": "kWh"},
        ],
        "events": [{"meterNumber": "MTR-0001", "code": 40, "timestamp": "2025-01-31T10:14:02Z", "details": {}}],
    }  # fmt: skip
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _inline(msgspec.json.schema(IngestionBody)), "example": example}
            },
        },
        "responses": {
            "202": {
                "description": "Stored durably; counts and the refused items",
                "content": {"application/json": {"schema": _inline(msgspec.json.schema(IngestionAnswer))}},
            }
        },
    }


def _named(readings: Sequence[ReadingIn], positions: list[int] | None) -> NamedReadings:
    # One comprehension per field: five flat lists, no per-reading tuple (measured fastest here).
    return NamedReadings(
        meter_numbers=[reading.meter_number for reading in readings],
        obis=[reading.obis for reading in readings],
        timestamps=[reading.timestamp for reading in readings],
        values=[reading.value for reading in readings],
        units=[reading.unit for reading in readings],
        positions=positions,
    )


def _events(events: Any) -> list[NamedEvent]:
    return [
        NamedEvent(index, event.meter_number, event.code, event.timestamp, event.details) for index, event in events
    ]


def _decode_item_by_item(body: bytes) -> DecodedBody:
    try:
        loose = _LOOSE.decode(body)
    except msgspec.ValidationError as error:
        raise InvalidInput("the body is not a batch of readings and events", [Problem(str(error))]) from None
    readings = decode_each(loose.readings, _READING)
    events = decode_each(loose.events, _EVENT)
    problems = [_item_problem("reading", item) for item in readings.undecoded]
    problems += [_item_problem("event", item) for item in events.undecoded]
    return DecodedBody(
        _named(readings.items, readings.positions), _events(zip(events.positions, events.items, strict=True)), problems
    )


def _item_problem(item: str, undecoded: Undecoded) -> ItemProblem:
    field, reason = undecoded.fault.field, undecoded.fault.reason
    try:
        content: Any = msgspec.json.decode(undecoded.raw)
    except msgspec.MsgspecError:  # numbers beyond float range do not decode even untyped
        content = None
    if not isinstance(content, dict):
        return ItemProblem(item, undecoded.index, None, field, reason, None)
    number = content.get("meterNumber")
    shown = number if isinstance(number, str) and len(number) <= _ECHO_LIMIT else None
    return ItemProblem(item, undecoded.index, shown, field, reason, _echo(content.get(field)))


def _echo(value: object) -> DetailValue:
    if isinstance(value, str):
        return value if len(value) <= _ECHO_LIMIT else value[:_ECHO_LIMIT] + "..."
    if isinstance(value, bool | int | float) or value is None:
        return value
    return None


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with its `$defs` references written out (OpenAPI resolves `#/...` from the document root)."""
    definitions = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            reference = node.get("$ref")
            if isinstance(reference, str) and reference.startswith("#/$defs/"):
                return resolve(definitions[reference.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items() if key != "$defs"}
        if isinstance(node, list):
            return [resolve(value) for value in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


class DeviceTokenOut(CamelModel):
    """A new device token: shown this once; store it in the meter or gateway now."""

    token: str
    meter_id: int
    scope: DeviceTokenScope
    concentrator_id: str | None
    created_at: datetime
    rotated: int

    @classmethod
    def of(cls, issued: IssuedToken) -> DeviceTokenOut:
        """The wire form of a freshly issued token."""
        return cls(
            token=issued.token,
            meter_id=issued.meter_id,
            scope=issued.scope,
            concentrator_id=issued.concentrator_id,
            created_at=issued.created_at,
            rotated=issued.rotated,
        )


class DeviceTokensRevokedOut(CamelModel):
    """How many live tokens were revoked."""

    revoked: int
