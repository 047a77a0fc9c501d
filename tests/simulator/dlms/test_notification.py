"""The DataNotification APDU: a known byte vector, round trips, gurux reading ours, and hostile input."""

from __future__ import annotations

import contextlib
import io
from datetime import UTC, datetime

import pytest
from gurux_dlms import GXByteBuffer, GXReplyData
from gurux_dlms.enums import Authentication, InterfaceType
from gurux_dlms.GXDLMSClient import GXDLMSClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hes.simulator.dlms.date_time import encode_date_time
from hes.simulator.dlms.errors import LocalProtocolError, RemoteProtocolError
from hes.simulator.dlms.notification import (
    MAX_LONG_INVOKE_ID,
    DataNotification,
    decode_data_notification,
    encode_data_notification,
    notification_at,
)
from hes.simulator.dlms.values import double_long_unsigned, octets, structure
from hes.simulator.dlms.wrapper import WrapperFramer

MOMENT = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
IDENTIFIER = b"EXXXX123456789012"
ALARM_PUSH_SETUP = bytes((0, 1, 25, 9, 0, 255))


def test_an_smr5_alarm_push_encodes_as_the_osgp_example() -> None:
    # The DSMR/SMR 5 alarm example GXF/OSGP's Smr5AlarmDecoder documents: 0F, invoke id 1, no date-time,
    # structure { equipment identifier, push setup logical name, alarm register 1 with "replace battery" }.
    body = structure(octets(IDENTIFIER), octets(ALARM_PUSH_SETUP), double_long_unsigned(2))
    encoded = encode_data_notification(DataNotification(1, body))
    expected = (
        "0f" "00000001" "00" "0203" "0911" + IDENTIFIER.hex() + "0906" + ALARM_PUSH_SETUP.hex() + "0600000002"
    )  # fmt: skip
    assert encoded.hex() == expected
    assert decode_data_notification(encoded) == DataNotification(1, body)


def test_a_stamped_high_priority_confirmed_notification_round_trips() -> None:
    notification = DataNotification(
        MAX_LONG_INVOKE_ID, octets(b"x"), encode_date_time(MOMENT), high_priority=True, confirmed=True
    )
    encoded = encode_data_notification(notification)
    assert encoded[1:5] == bytes((0xC0, 0xFF, 0xFF, 0xFF)) and encoded[5] == 12
    decoded = decode_data_notification(encoded)
    assert decoded == notification and decoded.moment == MOMENT
    assert notification_at(5, octets(b"x"), MOMENT).moment == MOMENT
    assert notification_at(5, octets(b"x"), None).date_time == b""


def test_gurux_reads_our_notification_as_a_push() -> None:
    body = structure(octets(b"SIM99007000001"), double_long_unsigned(123456))
    apdu = encode_data_notification(notification_at(7, body, MOMENT))
    frame = WrapperFramer().frame(1, 102, apdu)
    client = GXDLMSClient(True, 102, 1, Authentication.NONE, None, InterfaceType.WRAPPER)
    notify = GXReplyData()
    with contextlib.redirect_stdout(io.StringIO()):
        client.getData(GXByteBuffer(frame), GXReplyData(), notify)
    assert notify.complete
    assert [bytes(notify.value[0]), notify.value[1]] == [b"SIM99007000001", 123456]
    assert notify.time.value.replace(tzinfo=UTC) == MOMENT


@pytest.mark.parametrize(
    ("notification", "message"),
    [
        (DataNotification(MAX_LONG_INVOKE_ID + 1, octets(b"")), "long invoke id"),
        (DataNotification(-1, octets(b"")), "long invoke id"),
        (DataNotification(1, octets(b""), b"\x07\xe8"), "a date-time is 0 or 12 octets"),
    ],
)
def test_what_cannot_be_encoded_is_a_local_error(notification: DataNotification, message: str) -> None:
    with pytest.raises(LocalProtocolError, match=message):
        encode_data_notification(notification)


@pytest.mark.parametrize(
    ("apdu", "message"),
    [
        (b"\xc4\x01\x00", "not a DataNotification"),
        (b"\x0f\x00\x00", "truncated"),
        (b"\x0f\x00\x00\x00\x01\x05\x01\x02\x03\x04\x05\x00", "a date-time of 5 octets"),
        (b"\x0f\x00\x00\x00\x01\x00\x00\x00", "trailing"),
        (b"", "truncated"),
    ],
)
def test_malformed_notifications_are_remote_errors(apdu: bytes, message: str) -> None:
    with pytest.raises(RemoteProtocolError, match=message):
        decode_data_notification(apdu)


@settings(max_examples=300, deadline=250, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200), st.integers(min_value=0, max_value=199), st.integers(min_value=0, max_value=255))
def test_fuzzed_notifications_raise_only_remote_errors(noise: bytes, position: int, octet: int) -> None:
    valid = bytearray(encode_data_notification(notification_at(3, structure(octets(noise[:20])), MOMENT)))
    valid[position % len(valid)] = octet
    for candidate in (bytes(valid), b"\x0f" + noise):
        with contextlib.suppress(RemoteProtocolError):
            decode_data_notification(candidate)
