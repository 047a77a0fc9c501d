"""Decoding what meters publish: batches and single objects, every bad item named, nothing raised."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from hes.connectivity.mqtt.payloads import (
    MAX_ITEMS,
    CommandAckPayload,
    CommandMessage,
    PayloadProblem,
    StatusPayload,
    decode_command_ack,
    decode_events,
    decode_readings,
    decode_status,
    encode_command,
)

READING = {"obis": "1-0:1.8.0.255", "timestamp": "2025-03-03T00:15:00+01:00", "value": 12, "unit": "kWh"}


def encode(value: object) -> bytes:
    return msgspec.json.encode(value)


def test_a_single_reading_object() -> None:
    decoded = decode_readings(encode(READING))
    assert decoded.positions == [0] and decoded.problems == []
    (reading,) = decoded.items
    assert (reading.obis, reading.value, reading.unit) == ("1-0:1.8.0.255", 12.0, "kWh")
    assert reading.timestamp == datetime(2025, 3, 2, 23, 15, tzinfo=UTC)


def test_a_batch_with_bad_items_keeps_the_good_ones_and_names_the_bad() -> None:
    body = {
        "readings": [
            READING,
            {**READING, "value": "12"},
            {**READING, "timestamp": "yesterday"},
            {**READING, "obis": 7},
            {"obis": "1-0:1.8.0.255", "value": 1},
            {**READING, "unit": "k" * 17},
            "not an object",
            {**READING, "value": 13},
        ]
    }
    decoded = decode_readings(encode(body))
    assert [reading.value for reading in decoded.items] == [12.0, 13.0]
    assert decoded.positions == [0, 7]
    assert decoded.problems == [
        PayloadProblem(1, "value", "wrong_type"),
        PayloadProblem(2, "timestamp", "invalid_timestamp"),
        PayloadProblem(3, "obis", "wrong_type"),
        PayloadProblem(4, "timestamp", "missing_field"),
        PayloadProblem(5, "unit", "too_long"),
        PayloadProblem(6, "item", "not_an_object"),
    ]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json", "malformed_json"),
        (b"", "malformed_json"),
        (b'{"readings": [', "malformed_json"),
        (b'{"readings": 5}', "invalid_payload"),
        (b'{"readings": [], "meterNumber": "MTR-2"}', "invalid_payload"),  # the topic names the meter, not the body
    ],
)
def test_a_payload_that_is_not_a_readings_message(payload: bytes, reason: str) -> None:
    decoded = decode_readings(payload)
    assert decoded.items == [] and decoded.problems == [PayloadProblem(None, "payload", reason)]


def test_too_many_items_in_one_message() -> None:
    decoded = decode_readings(encode({"readings": [READING] * (MAX_ITEMS + 1)}))
    assert decoded.problems == [PayloadProblem(None, "payload", "too_many_items")]


def test_a_value_beyond_float_range_is_out_of_range() -> None:
    decoded = decode_readings(b'{"obis": "1-0:1.8.0.255", "timestamp": "2025-03-03T00:00:00Z", "value": 1e999}')
    assert decoded.problems == [PayloadProblem(0, "value", "out_of_range")]


def test_events_single_and_batched() -> None:
    event = {"code": 40, "timestamp": "2025-03-03T00:00:00Z", "details": {"phase": 1}}
    assert [e.code for e in decode_events(encode(event)).items] == [40]
    decoded = decode_events(encode({"events": [event, {**event, "code": -1}, {**event, "details": {"k": [1]}}]}))
    assert [e.code for e in decoded.items] == [40]
    assert [(problem.index, problem.reason) for problem in decoded.problems] == [(1, "out_of_range"), (2, "wrong_type")]


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        (b"", "online"),
        (b"  ", "online"),
        (b"online", "online"),
        (b"offline", "offline"),
        (b'{"status": "offline"}', "offline"),
        (b'{"rssi": -70, "battery": 3.6}', "online"),
    ],
)
def test_status_messages(payload: bytes, status: str) -> None:
    decoded = decode_status(payload)
    assert isinstance(decoded, StatusPayload) and decoded.status == status


def test_a_bad_status_message() -> None:
    assert decode_status(b"{") == PayloadProblem(None, "payload", "malformed_json")
    assert decode_status(b'{"status": 1}') == PayloadProblem(None, "status", "wrong_type")


def test_command_acks() -> None:
    decoded = decode_command_ack(b'{"commandId": "c-1", "status": "failed", "details": {"error": "relay stuck"}}')
    assert decoded == CommandAckPayload("c-1", "failed", {"error": "relay stuck"})
    assert decode_command_ack(b'{"status": "ok"}') == PayloadProblem(None, "commandId", "missing_field")
    assert decode_command_ack(b"garbage") == PayloadProblem(None, "payload", "malformed_json")


def test_a_command_as_published() -> None:
    issued = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
    body = encode_command(CommandMessage(42, {"action": "disconnect", "at": None, "list": [1, 2.5]}, issued))
    assert msgspec.json.decode(body) == {
        "commandId": 42,
        "payload": {"action": "disconnect", "at": None, "list": [1, 2.5]},
        "issuedAt": "2025-03-03T12:00:00Z",
    }
    with pytest.raises(TypeError):
        encode_command(CommandMessage(1, {"bad": object()}, issued))  # type: ignore[dict-item]
