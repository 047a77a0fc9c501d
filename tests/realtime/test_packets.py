"""HES Core's Socket.IO packets: the same wire text as python-socketio's own, without its binary walk."""

from __future__ import annotations

import math

from socketio.packet import EVENT, Packet  # type: ignore[import-untyped]

from hes.realtime.packets import JsonPacket

READING = {"obis": "1-0:1.8.0.255", "value": 4350.25, "unit": "Wh", "timestamp": "2026-11-27T12:45:00+00:00"}
METER = {"meterId": 7, "meterNumber": "MTR-7", "areaCode": None, "lastSeenAt": "2026-11-27T13:00:00+00:00"}
UPDATE = ["meter-reading-update", {"sentAt": "2026-11-27T13:00:00+00:00", "meters": [{**METER, "readings": [READING]}]}]


def test_an_event_is_the_same_text_a_browser_gets_from_python_socketio() -> None:
    assert JsonPacket(EVENT, data=UPDATE, namespace="/").encode() == Packet(EVENT, data=UPDATE, namespace="/").encode()


def test_a_received_event_is_parsed_as_before_non_finite_numbers_included() -> None:
    received = JsonPacket(encoded_packet='2["meter-update",{"value":NaN}]')
    assert received.packet_type == EVENT
    assert received.data[0] == "meter-update"
    assert math.isnan(received.data[1]["value"])  # the handler refuses that reading with its reason
