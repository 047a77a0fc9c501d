"""The small part of BER (ISO/IEC 8825-1) that the ACSE APDUs of IEC 62056-5-3 use: definite-length TLVs.

AARQ, AARE, RLRQ and RLRE (IEC 62056-5-3 8.2, ISO/IEC 8650) are BER-encoded with single-octet tags and
definite lengths; the xDLMS APDUs they carry in user-information are A-XDR inside an OCTET STRING. Lengths use
the same short / 0x81.. long form as A-XDR, so the length codec is shared with `axdr`.

Decoding is for hostile input: every failure raises `RemoteProtocolError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from hes.simulator.dlms.axdr import decode_length, encode_length
from hes.simulator.dlms.errors import LocalProtocolError, RemoteProtocolError

__all__ = [
    "MAX_ACSE_COMPONENTS",
    "MAX_TLV_LENGTH",
    "Tlv",
    "encode_bit_string",
    "encode_integer",
    "encode_tlv",
    "iter_tlvs",
    "read_integer",
    "read_single",
    "read_tlv",
]

# Longest TLV value accepted. An AARQ is a few hundred octets at most: its largest component is the
# user-information (an InitiateRequest, <= ~60 octets even ciphered with a dedicated key) or an HLS challenge
# (<= 64 octets, IEC 62056-5-3 9.2.2.2.2). 4 KiB leaves room for vendor extras and still refuses a hostile
# "length = 2**32" before any work.
MAX_TLV_LENGTH = 4096

# Most components in one constructed value. AARQ has 15 possible fields (ISO/IEC 8650 / IEC 62056-5-3 8.2);
# a longer list is not an AARQ.
MAX_ACSE_COMPONENTS = 32

# Tag octet classes (ISO/IEC 8825-1 8.1.2). Bits 5..1 all set mean a multi-octet tag, which no ACSE field of
# IEC 62056-5-3 uses.
_HIGH_TAG_NUMBER = 0x1F


@dataclass(frozen=True, slots=True)
class Tlv:
    """One decoded BER element: its tag octet and value octets."""

    tag: int
    value: bytes


def encode_tlv(tag: int, value: bytes) -> bytes:
    """Encode one definite-length TLV with a single-octet tag.

    Raises:
        LocalProtocolError: the tag is not one octet or is a multi-octet tag form.
    """
    if not 0 <= tag <= 0xFF or tag & _HIGH_TAG_NUMBER == _HIGH_TAG_NUMBER:
        raise LocalProtocolError(f"BER tag 0x{tag:X} is not a single-octet tag")
    return bytes((tag,)) + encode_length(len(value)) + value


def encode_integer(tag: int, value: int) -> bytes:
    """Encode a small non-negative INTEGER (0..127, the range of every ACSE enumeration) under `tag`.

    Raises:
        LocalProtocolError: the value does not fit one content octet.
    """
    if not 0 <= value <= 0x7F:
        raise LocalProtocolError(f"INTEGER {value} does not fit one octet")
    return encode_tlv(tag, bytes((value,)))


def encode_bit_string(tag: int, bits: int, length: int) -> bytes:
    """Encode a BIT STRING of `length` bits (1..8), `bits` holding them most significant first, under `tag`.

    Raises:
        LocalProtocolError: the length is not 1..8 or `bits` has more bits than `length`.
    """
    if not 1 <= length <= 8 or bits >> length:
        raise LocalProtocolError(f"bit-string of {length} bits cannot hold {bits:b}")
    unused = 8 - length
    return encode_tlv(tag, bytes((unused, bits << unused)))


def read_tlv(buffer: bytes, offset: int) -> tuple[Tlv, int]:
    """Decode the TLV at `offset`; returns it and the offset just after it.

    Raises:
        RemoteProtocolError: truncated input, a multi-octet tag, an indefinite or over-long length, or a value
            longer than MAX_TLV_LENGTH.
    """
    if offset >= len(buffer):
        raise RemoteProtocolError(f"truncated BER: no tag at offset {offset}")
    tag = buffer[offset]
    if tag & _HIGH_TAG_NUMBER == _HIGH_TAG_NUMBER:
        raise RemoteProtocolError(f"multi-octet BER tag 0x{tag:02X} at offset {offset} is not used by DLMS ACSE")
    length, start = decode_length(buffer, offset + 1)
    if length > MAX_TLV_LENGTH:
        raise RemoteProtocolError(f"BER value of {length} octets is longer than {MAX_TLV_LENGTH}")
    end = start + length
    if end > len(buffer):
        raise RemoteProtocolError(f"truncated BER: tag 0x{tag:02X} needs {length} octets, {len(buffer) - start} left")
    return Tlv(tag, bytes(buffer[start:end])), end


def iter_tlvs(buffer: bytes) -> Iterator[Tlv]:
    """Yield the TLVs that exactly fill `buffer` (the content of a constructed value).

    Raises:
        RemoteProtocolError: as `read_tlv`, or more than MAX_ACSE_COMPONENTS elements.
    """
    offset = 0
    count = 0
    while offset < len(buffer):
        count += 1
        if count > MAX_ACSE_COMPONENTS:
            raise RemoteProtocolError(f"more than {MAX_ACSE_COMPONENTS} BER components")
        tlv, offset = read_tlv(buffer, offset)
        yield tlv


def read_single(buffer: bytes, tag: int, what: str) -> bytes:
    """The value of the one TLV, tagged `tag`, that exactly fills `buffer` (e.g. an OCTET STRING in a [6] field).

    Raises:
        RemoteProtocolError: another tag, trailing octets, or as `read_tlv`.
    """
    tlv, end = read_tlv(buffer, 0)
    if tlv.tag != tag or end != len(buffer):
        raise RemoteProtocolError(f"{what}: expected one element tagged 0x{tag:02X}")
    return tlv.value


def read_integer(buffer: bytes, what: str) -> int:
    """A small non-negative INTEGER (universal tag 2) filling `buffer`.

    Raises:
        RemoteProtocolError: not an INTEGER of 1..4 octets, or negative.
    """
    raw = read_single(buffer, 0x02, what)
    if not 1 <= len(raw) <= 4 or raw[0] & 0x80:
        raise RemoteProtocolError(f"{what}: INTEGER of {len(raw)} octets is not a small non-negative integer")
    return int.from_bytes(raw, "big")
