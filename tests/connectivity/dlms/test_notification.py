"""Inbound pushes, sans-IO: the simulator's DataNotifications (wrapper and HDLC, plain and ciphered) cut and decoded,
and every malformed, hostile or wrongly ciphered one refused. No sockets."""

from __future__ import annotations

import pytest

from hes.connectivity.dlms.errors import CipheringError, FramingError, LimitExceeded, MalformedAnswer
from hes.connectivity.dlms.notification import (
    PUSH_CLIENT,
    InboundFramer,
    NotificationKeys,
    decode_notification,
    peek_system_title,
)
from hes.db.enums import DlmsTransport
from hes.obis.codes import ObisCode
from hes.simulator.dlms.hdlc_frame import FrameKind, HdlcAddress, HdlcFrame, encode_frame, u_control
from hes.simulator.dlms.values import array, integer, long_unsigned, octets, structure
from hes.simulator.fleet import MeterSpec, fleet_from_options
from hes.simulator.meter import SimulatedMeter
from hes.simulator.push_messages import PUSH_SETUP, AlarmBit, PushMessages
from hes.simulator.server import build_meters
from tests.simulator.gurux_peer import ENERGY_WH, NOW, tiny_objects

_MATRIX = [(transport, auth) for transport in ("wrapper", "hdlc") for auth in ("none", "hls")]


def _meter(transport: str = "wrapper", auth: str = "none", brand: str = "hexing") -> tuple[MeterSpec, SimulatedMeter]:
    fleet = fleet_from_options(1, brand=brand, transport=transport, auth=auth, base_port=0)
    (meter,) = build_meters(fleet, tiny_objects)
    return fleet.meters[0], meter


def _keys(spec: MeterSpec) -> NotificationKeys | None:
    if spec.encryption_key is None or spec.authentication_key is None:
        return None
    return NotificationKeys(spec.encryption_key, spec.authentication_key)


def _cut(data: bytes, step: int = 5) -> list[bytes]:
    """The APDUs a framer cuts from `data` fed a few octets at a time (as TCP may deliver them)."""
    framer = InboundFramer()
    apdus = []
    for start in range(0, len(data), step):
        apdus += [apdu.apdu for apdu in framer.receive_data(data[start : start + step])]
    assert framer.buffered == 0
    return apdus


@pytest.mark.parametrize(("transport", "auth"), _MATRIX)
def test_pushes_are_cut_from_the_stream_and_decoded(transport: str, auth: str) -> None:
    spec, meter = _meter(transport, auth)
    messages = PushMessages(meter, spec)
    framer = InboundFramer()
    pushes = framer.receive_data(messages.push() + messages.alarm(AlarmBit.FRAUD_ATTEMPT))
    assert framer.transport is DlmsTransport(transport) and len(pushes) == 2
    assert all(push.destination == PUSH_CLIENT for push in pushes)
    last = None
    for push, expected in zip(pushes, (ENERGY_WH, AlarmBit.FRAUD_ATTEMPT), strict=True):
        notification = decode_notification(push.apdu, _keys(spec), last_counter=last)
        name, clock, value = notification.values[1:]
        assert name == b"HXE" + spec.meter_number.encode() and value == expected
        assert isinstance(clock, bytes) and clock[:2] == NOW.year.to_bytes(2, "big")
        assert notification.timestamp == NOW
        assert notification.ciphered is (auth == "hls")
        assert peek_system_title(push.apdu) == (spec.system_title if auth == "hls" else None)
        last = notification.invocation_counter
    assert last == (2 if auth == "hls" else None)


@pytest.mark.parametrize("transport", ["wrapper", "hdlc"])
def test_octets_arriving_a_few_at_a_time_make_the_same_pushes(transport: str) -> None:
    spec, meter = _meter(transport, "hls")
    messages = PushMessages(meter, spec)
    data = messages.push() + messages.push()
    assert _cut(data, 1) == _cut(data, len(data))


def test_a_long_hdlc_push_comes_in_segments_and_is_joined() -> None:
    fleet = fleet_from_options(1, brand="idis", transport="hdlc", base_port=0)
    spec, (real,) = fleet.meters[0], build_meters(fleet)  # full objects: the push object list can be written
    serial = structure(long_unsigned(1), octets(bytes((0, 0, 96, 1, 0, 255))), integer(2), long_unsigned(0))
    push_setup = structure(long_unsigned(40), octets(PUSH_SETUP.to_bytes()), integer(1), long_unsigned(0))
    real.objects(spec.client_sap).set(40, PUSH_SETUP.to_bytes(), 2, None, array(push_setup, *[serial] * 12))
    data = PushMessages(real, spec).push()
    assert data.startswith(b"\x7e\xa8")  # more than one frame: the first has the segmentation bit
    (apdu,) = _cut(data, 64)
    assert decode_notification(apdu).values[1:] == (spec.meter_number.encode(),) * 12


def test_an_altered_ciphered_push_is_refused() -> None:
    spec, meter = _meter(auth="hls")
    (apdu,) = _cut(PushMessages(meter, spec).push())
    for position in (len(apdu) - 1, len(apdu) - 20):  # the GCM tag, then the ciphertext
        altered = bytearray(apdu)
        altered[position] ^= 0x01
        with pytest.raises(CipheringError, match="does not verify"):
            decode_notification(bytes(altered), _keys(spec))


def test_a_push_ciphered_with_other_keys_is_refused() -> None:
    spec, meter = _meter(auth="hls")
    (apdu,) = _cut(PushMessages(meter, spec).push())
    keys = _keys(spec)
    assert keys is not None
    swapped = NotificationKeys(keys.authentication_key, keys.block_cipher_key)
    with pytest.raises(CipheringError, match="does not verify"):
        decode_notification(apdu, swapped)


def test_a_replayed_ciphered_push_is_refused() -> None:
    spec, meter = _meter(auth="hls")
    (apdu,) = _cut(PushMessages(meter, spec).push())
    counter = decode_notification(apdu, _keys(spec)).invocation_counter
    with pytest.raises(CipheringError, match="replayed"):
        decode_notification(apdu, _keys(spec), last_counter=counter)


def test_a_meter_with_keys_must_cipher_and_a_ciphered_push_needs_keys() -> None:
    plain_spec, plain_meter = _meter(auth="none")
    hls_spec, hls_meter = _meter(auth="hls")
    (plain,) = _cut(PushMessages(plain_meter, plain_spec).push())
    (ciphered,) = _cut(PushMessages(hls_meter, hls_spec).push())
    with pytest.raises(CipheringError, match="unprotected"):
        decode_notification(plain, _keys(hls_spec))
    with pytest.raises(CipheringError, match="without keys"):
        decode_notification(ciphered)


def test_an_apdu_that_is_no_data_notification_is_refused() -> None:
    get_response = bytes.fromhex("c401c1000600000001")
    with pytest.raises(MalformedAnswer, match="not a data-notification"):
        decode_notification(get_response)
    with pytest.raises(MalformedAnswer):
        decode_notification(bytes.fromhex("0f00000001"))  # truncated: no date-time length, no body
    with pytest.raises(MalformedAnswer, match="system title"):
        peek_system_title(bytes.fromhex("db0548584530"))


def test_garbage_and_frames_past_the_limits_are_refused() -> None:
    with pytest.raises(FramingError, match="neither"):
        InboundFramer().receive_data(b"GET / HTTP/1.1\r\n")
    with pytest.raises(FramingError, match="version"):
        InboundFramer().receive_data(b"\x00\x02\x00\x01\x00\x66\x00\x01\x0f")
    with pytest.raises(LimitExceeded):
        InboundFramer(max_apdu=100).receive_data(b"\x00\x01\x00\x01\x00\x66\x01\x00")
    with pytest.raises(FramingError, match="without an APDU"):
        InboundFramer().receive_data(b"\x00\x01\x00\x01\x00\x66\x00\x00")


def _hdlc(control: int, information: bytes) -> bytes:
    return encode_frame(HdlcFrame(HdlcAddress(PUSH_CLIENT), HdlcAddress.server(1, 0x10), control, information))


def test_hdlc_frames_that_are_no_push_are_refused() -> None:
    spec, meter = _meter("hdlc")
    good = PushMessages(meter, spec).push()
    corrupted = bytearray(good)
    corrupted[20] ^= 0xFF
    with pytest.raises(FramingError, match="FCS"):
        InboundFramer().receive_data(bytes(corrupted))
    with pytest.raises(FramingError, match="control"):
        InboundFramer().receive_data(_hdlc(u_control(FrameKind.UA, True), b""))
    with pytest.raises(FramingError, match="LLC"):
        InboundFramer().receive_data(_hdlc(u_control(FrameKind.UI, True), b"\x0f\x00\x00\x00\x01"))
    assert _cut(good) and ObisCode.parse(decode_notification(_cut(good)[0]).values[0]) == PUSH_SETUP  # type: ignore[arg-type]
