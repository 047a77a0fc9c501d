"""BER TLVs of the ACSE APDUs: known encodings, and hostile input refused with RemoteProtocolError."""

from __future__ import annotations

import pytest

from hes.simulator.dlms.ber import (
    MAX_ACSE_COMPONENTS,
    MAX_TLV_LENGTH,
    Tlv,
    encode_bit_string,
    encode_integer,
    encode_tlv,
    iter_tlvs,
    read_integer,
    read_single,
    read_tlv,
)
from hes.simulator.dlms.errors import LocalProtocolError, RemoteProtocolError


def test_short_and_long_lengths_round_trip() -> None:
    assert encode_tlv(0x04, b"\x01\x02") == b"\x04\x02\x01\x02"
    long_value = bytes(200)
    encoded = encode_tlv(0xBE, long_value)
    assert encoded[:3] == b"\xbe\x81\xc8"
    assert read_tlv(encoded, 0) == (Tlv(0xBE, long_value), len(encoded))
    bigger = bytes(300)
    assert encode_tlv(0xBE, bigger)[:4] == b"\xbe\x82\x01\x2c"


def test_known_acse_fields() -> None:
    # Result [2] INTEGER 0 and sender-acse-requirements BIT STRING {authentication} (IEC 62056-5-3 9.3.2).
    assert encode_tlv(0xA2, encode_integer(0x02, 0)) == bytes.fromhex("a203020100")
    assert encode_bit_string(0x8A, 1, 1) == bytes.fromhex("8a020780")


def test_iter_tlvs_walks_a_constructed_value() -> None:
    body = bytes.fromhex("a109060760857405080101") + bytes.fromhex("8a020780")
    assert [tlv.tag for tlv in iter_tlvs(body)] == [0xA1, 0x8A]
    assert read_single(bytes.fromhex("0408") + b"CLI00001", 0x04, "title") == b"CLI00001"
    assert read_integer(bytes.fromhex("020101"), "result") == 1


@pytest.mark.parametrize(
    "raw",
    [
        b"",  # no tag
        b"\x04",  # no length
        b"\x04\x05abc",  # value shorter than its length
        b"\x04\x80",  # indefinite length (not DER, never used by DLMS)
        b"\x04\x85\x00\x00\x00\x00\x01",  # more than 4 length octets
        b"\x1f\x01\x00",  # multi-octet tag
        b"\x04\x82" + (MAX_TLV_LENGTH + 1).to_bytes(2, "big"),  # past the limit, refused before reading
    ],
)
def test_hostile_tlvs_are_remote_errors(raw: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        read_tlv(raw, 0)


def test_too_many_components_is_a_remote_error() -> None:
    body = b"\x80\x00" * (MAX_ACSE_COMPONENTS + 1)
    with pytest.raises(RemoteProtocolError, match="components"):
        list(iter_tlvs(body))


def test_read_single_refuses_wrong_tag_or_trailing_octets() -> None:
    with pytest.raises(RemoteProtocolError):
        read_single(b"\x02\x01\x00", 0x04, "title")
    with pytest.raises(RemoteProtocolError):
        read_single(b"\x04\x01\x00\x00", 0x04, "title")
    with pytest.raises(RemoteProtocolError):
        read_integer(b"\x02\x01\x80", "negative")


def test_encoding_refuses_what_ber_cannot_carry_here() -> None:
    with pytest.raises(LocalProtocolError):
        encode_tlv(0x1F, b"")
    with pytest.raises(LocalProtocolError):
        encode_integer(0x02, 200)
    with pytest.raises(LocalProtocolError):
        encode_bit_string(0x8A, 0b11, 1)
