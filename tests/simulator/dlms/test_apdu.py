"""The bounds-checked APDU reader every decoder is built on."""

from __future__ import annotations

import pytest

from hes.simulator.dlms.apdu import ApduReader
from hes.simulator.dlms.errors import RemoteProtocolError
from hes.simulator.dlms.values import unsigned


def test_reads_fixed_fields_big_endian() -> None:
    reader = ApduReader(bytes.fromhex("01 0203 04050607 ff 00 11 05"), "test")
    assert (reader.u8(), reader.u16(), reader.u32(), reader.i8()) == (1, 0x0203, 0x04050607, -1)
    assert reader.boolean() is False
    assert reader.data() == unsigned(5)
    reader.end()


def test_optional_flags_and_octet_strings() -> None:
    reader = ApduReader(bytes.fromhex("01 00 03 616263"), "test")
    assert reader.optional() is True
    assert reader.optional() is False
    assert reader.octet_string(8) == b"abc"
    assert reader.remaining == 0


@pytest.mark.parametrize(
    ("raw", "read"),
    [
        (b"", lambda reader: reader.u8()),
        (b"\x01", lambda reader: reader.u16()),
        (b"\x01\x02\x03", lambda reader: reader.u32()),
        (b"\x02", lambda reader: reader.optional()),
        (b"\x05abc", lambda reader: reader.octet_string(8)),
        (b"\x09abcdefghi", lambda reader: reader.octet_string(8)),
        (b"\x80", lambda reader: reader.length(8)),
        (b"\x63", lambda reader: reader.data()),
    ],
)
def test_short_or_hostile_input_is_a_remote_error(raw: bytes, read: object) -> None:
    with pytest.raises(RemoteProtocolError):
        read(ApduReader(raw, "test"))  # type: ignore[operator]


def test_trailing_octets_are_refused() -> None:
    reader = ApduReader(b"\x01\x02", "GET-Request")
    reader.u8()
    with pytest.raises(RemoteProtocolError, match="GET-Request: 1 unexpected trailing"):
        reader.end()
