"""A-XDR codec of COSEM `Data` values (IEC 62056-6-2 4.1.5 / 4.1.6; IEC 61334-6 A-XDR rules).

Encoding: one tag octet (`DataType`), then the value. Fixed-size types (integers, enum, float32/64, date-time,
date, time) carry no length; octet-string, visible-string, utf8-string and bit-string carry a length; array and
structure carry an element count. Lengths and counts use the BER-style form of `encode_length`.

Decoding is for hostile input: every failure (truncated buffer, unknown tag, a length or count past a limit,
nesting past `MAX_DEPTH`, invalid UTF-8) raises `RemoteProtocolError`, and the work done is linear in the input
size. Encoding a value that cannot be put on the wire raises `LocalProtocolError`.

Date-time octets (the 12-octet value inside an octet-string or a date-time) have their own codec, `date_time`.

Not implemented: compact-array (tag 19, IEC 62056-6-2). Decoding it raises RemoteProtocolError and
encoding it raises LocalProtocolError; no simulated meter object produces one.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from hes.simulator.dlms.errors import LocalProtocolError, RemoteProtocolError
from hes.simulator.dlms.values import INTEGER_WIDTHS, BitString, Data, DataType, EncodedData

__all__ = [
    "MAX_DEPTH",
    "MAX_ELEMENTS",
    "MAX_OCTETS",
    "decode_data",
    "decode_length",
    "encode_data",
    "encode_length",
    "pre_encoded",
]

# Deepest array/structure nesting accepted. The deepest real values are selective-access parameters
# (structure > array > structure > octet-string, IEC 62056-6-2 profile generic) and object lists
# (array > structure > structure > array > structure, Association LN attribute 2): 5 levels. 16 leaves room for
# vendor objects while keeping recursion shallow and a hostile "01 01 01 01 ..." cheap to refuse.
MAX_DEPTH = 16

# Most elements in one array or structure. A year of 15-minute load-profile rows is 35,040 entries; 65,535 is
# also the largest count a client-max-receive-pdu-size (Unsigned16, IEC 62056-5-3 InitiateRequest) could carry.
MAX_ELEMENTS = 65_535

# Longest octet-string, visible-string, utf8-string or bit-string (in octets). No single string can exceed the
# largest xDLMS APDU (max PDU size is an Unsigned16, IEC 62056-5-3); image blocks are far smaller.
MAX_OCTETS = 65_535

# Fixed-size octet-string-like types: no length on the wire (IEC 62056-6-2 4.1.6.1).
_FIXED_OCTETS: dict[DataType, int] = {DataType.DATE_TIME: 12, DataType.DATE: 5, DataType.TIME: 4}
_FLOAT_FORMATS: dict[DataType, str] = {DataType.FLOAT32: ">f", DataType.FLOAT64: ">d"}
# Length-prefixed character strings and how their characters map to octets. visible-string is ISO 646 in the
# standard; Latin-1 maps every octet to one character, so whatever a peer sends decodes and re-encodes unchanged.
_TEXT_ENCODINGS: dict[DataType, str] = {DataType.VISIBLE_STRING: "latin-1", DataType.UTF8_STRING: "utf-8"}


# ---------------------------------------------------------------------------------------------------- lengths


def encode_length(n: int) -> bytes:
    """Encode a length or element count: < 0x80 in one octet, else 0x81 n, 0x82 nn or 0x84 nnnn.

    0x83 (three octets) is valid BER but gurux-dlms cannot read it, so counts of 0x10000 and more use 0x84.

    Raises:
        LocalProtocolError: n is negative or does not fit 32 bits.
    """
    if n < 0 or n > 0xFFFFFFFF:
        raise LocalProtocolError(f"length {n} cannot be encoded")
    if n < 0x80:
        return bytes((n,))
    if n <= 0xFF:
        return bytes((0x81, n))
    if n <= 0xFFFF:
        return b"\x82" + n.to_bytes(2, "big")
    return b"\x84" + n.to_bytes(4, "big")


def decode_length(buffer: bytes | memoryview, offset: int) -> tuple[int, int]:
    """Decode a length at `offset`; returns (length, offset after it).

    Accepts the short form and 0x81..0x84 followed by 1..4 big-endian octets (non-minimal forms too, as some
    meters send them). The caller checks the value against its own limit.

    Raises:
        RemoteProtocolError: truncated input, the indefinite form 0x80, or more than 4 length octets.
    """
    view = _view(buffer)
    first = _octet(view, offset)
    if first < 0x80:
        return first, offset + 1
    size = first & 0x7F
    if size == 0 or size > 4:
        raise RemoteProtocolError(f"unsupported length form 0x{first:02X} at offset {offset}")
    start = offset + 1
    return int.from_bytes(_take(view, start, size), "big"), start + size


# ---------------------------------------------------------------------------------------------------- encoding


def encode_data(value: Data) -> bytes:
    """Encode a `Data` value (tag + content) to A-XDR octets.

    Raises:
        LocalProtocolError: the Python value does not match its type (a str in an octet-string, a float too large
            for float32, a date-time not 12 octets long, a bit-string whose octets do not hold its length), a
            string or container past a limit, or compact-array (not implemented).
    """
    if isinstance(value, EncodedData):
        return value.encoded
    out = bytearray()
    _encode(value, out, 0)
    return bytes(out)


def pre_encoded(value: Data) -> EncodedData:
    """`value` with its encoding attached, so that `encode_data` returns those octets without encoding it again.

    Raises:
        LocalProtocolError: as `encode_data`.
    """
    return EncodedData(value, encode_data(value))


def _encode(value: Data, out: bytearray, depth: int) -> None:
    out.append(value.type)
    encoder = _ENCODERS.get(value.type)
    if encoder is None:
        raise LocalProtocolError(f"cannot encode {value.type.name}")
    encoder(value, out, depth)


def _encode_null(value: Data, out: bytearray, depth: int) -> None:
    if value.value is not None:
        raise LocalProtocolError(f"NULL_DATA holds None, not {value.value!r}")


def _encode_boolean(value: Data, out: bytearray, depth: int) -> None:
    if not isinstance(value.value, bool):
        raise LocalProtocolError(f"BOOLEAN holds a bool, not {value.value!r}")
    out.append(1 if value.value else 0)


def _encode_integer(value: Data, out: bytearray, depth: int) -> None:
    # Data.__post_init__ has already checked the type and the range for every integer type.
    signed, size = INTEGER_WIDTHS[value.type]
    assert isinstance(value.value, int)
    out += value.value.to_bytes(size, "big", signed=signed)


def _encode_float(value: Data, out: bytearray, depth: int) -> None:
    if not isinstance(value.value, int | float) or isinstance(value.value, bool):
        raise LocalProtocolError(f"{value.type.name} holds a float, not {value.value!r}")
    try:
        out += struct.pack(_FLOAT_FORMATS[value.type], value.value)
    except (OverflowError, struct.error) as exc:
        raise LocalProtocolError(f"{value.value!r} does not fit {value.type.name}") from exc


def _encode_octet_string(value: Data, out: bytearray, depth: int) -> None:
    if not isinstance(value.value, bytes):
        raise LocalProtocolError(f"OCTET_STRING holds bytes, not {value.value!r}")
    _encode_counted(value.value, out)


def _encode_text(value: Data, out: bytearray, depth: int) -> None:
    if not isinstance(value.value, str):
        raise LocalProtocolError(f"{value.type.name} holds a str, not {value.value!r}")
    try:
        raw = value.value.encode(_TEXT_ENCODINGS[value.type])
    except UnicodeEncodeError as exc:
        raise LocalProtocolError(f"{value.value!r} cannot be a {value.type.name}") from exc
    _encode_counted(raw, out)


def _encode_counted(raw: bytes, out: bytearray) -> None:
    if len(raw) > MAX_OCTETS:
        raise LocalProtocolError(f"string of {len(raw)} octets is longer than {MAX_OCTETS}")
    out += encode_length(len(raw))
    out += raw


def _encode_bit_string(value: Data, out: bytearray, depth: int) -> None:
    bits = value.value
    if not isinstance(bits, BitString):
        raise LocalProtocolError(f"BIT_STRING holds a BitString, not {bits!r}")
    if bits.length < 0 or len(bits.octets) != (bits.length + 7) // 8:
        raise LocalProtocolError(f"{len(bits.octets)} octets cannot hold exactly {bits.length} bits")
    if len(bits.octets) > MAX_OCTETS:
        raise LocalProtocolError(f"bit-string of {len(bits.octets)} octets is longer than {MAX_OCTETS}")
    out += encode_length(bits.length)
    out += bits.octets


def _encode_fixed_octets(value: Data, out: bytearray, depth: int) -> None:
    size = _FIXED_OCTETS[value.type]
    if not isinstance(value.value, bytes) or len(value.value) != size:
        raise LocalProtocolError(f"{value.type.name} holds {size} octets, not {value.value!r}")
    out += value.value


def _encode_container(value: Data, out: bytearray, depth: int) -> None:
    items = value.value
    if not isinstance(items, tuple):
        raise LocalProtocolError(f"{value.type.name} holds a tuple of Data, not {items!r}")
    if depth >= MAX_DEPTH:
        raise LocalProtocolError(f"nesting deeper than {MAX_DEPTH}")
    if len(items) > MAX_ELEMENTS:
        raise LocalProtocolError(f"{len(items)} elements is more than {MAX_ELEMENTS}")
    out += encode_length(len(items))
    for item in items:
        if not isinstance(item, Data):
            raise LocalProtocolError(f"{value.type.name} element {item!r} is not Data")
        _encode(item, out, depth + 1)


_Encoder = Callable[[Data, bytearray, int], None]
_ENCODERS: dict[DataType, _Encoder] = {
    DataType.NULL_DATA: _encode_null,
    DataType.ARRAY: _encode_container,
    DataType.STRUCTURE: _encode_container,
    DataType.BOOLEAN: _encode_boolean,
    DataType.BIT_STRING: _encode_bit_string,
    DataType.OCTET_STRING: _encode_octet_string,
    DataType.VISIBLE_STRING: _encode_text,
    DataType.UTF8_STRING: _encode_text,
    DataType.FLOAT32: _encode_float,
    DataType.FLOAT64: _encode_float,
    **{data_type: _encode_integer for data_type in INTEGER_WIDTHS},
    **{data_type: _encode_fixed_octets for data_type in _FIXED_OCTETS},
}


# ---------------------------------------------------------------------------------------------------- decoding


def decode_data(buffer: bytes | memoryview, offset: int = 0) -> tuple[Data, int]:
    """Decode one `Data` value starting at `offset`; returns (value, offset just after it).

    Bytes after the value are left alone: the caller decides whether trailing octets are an error.

    Raises:
        RemoteProtocolError: truncated input, an unknown or unsupported tag (compact-array), a length or count
            past MAX_OCTETS / MAX_ELEMENTS or past the end of the buffer, nesting deeper than MAX_DEPTH, invalid
            UTF-8.
    """
    return _decode(_view(buffer), offset, 0)


def _decode(view: memoryview, offset: int, depth: int) -> tuple[Data, int]:
    tag = _octet(view, offset)
    try:
        data_type = DataType(tag)
    except ValueError:
        raise RemoteProtocolError(f"unknown data type tag 0x{tag:02X} at offset {offset}") from None
    decoder = _DECODERS.get(data_type)
    if decoder is None:
        raise RemoteProtocolError(f"{data_type.name} is not supported (offset {offset})")
    return decoder(data_type, view, offset + 1, depth)


def _decode_null(data_type: DataType, view: memoryview, offset: int, depth: int) -> tuple[Data, int]:
    return Data(data_type, None), offset


def _decode_boolean(data_type: DataType, view: memoryview, offset: int, depth: int) -> tuple[Data, int]:
    # A-XDR BOOLEAN: 0x00 is FALSE, any other octet is TRUE (IEC 61334-6 A-XDR, as in BER).
    return Data(data_type, _octet(view, offset) != 0), offset + 1


def _decode_integer(data_type: DataType, view: memoryview, offset: int, depth: int) -> tuple[Data, int]:
    signed, size = INTEGER_WIDTHS[data_type]
    return Data(data_type, int.from_bytes(_take(view, offset, size), "big", signed=signed)), offset + size


def _decode_float(data_type: DataType, view: memoryview, offset: int, depth: int) -> tuple[Data, int]:
    fmt = _FLOAT_FORMATS[data_type]
    raw = _take(view, offset, struct.calcsize(fmt))
    return Data(data_type, struct.unpack(fmt, raw)[0]), offset + len(raw)


def _decode_counted(view: memoryview, offset: int, limit: int, what: str) -> tuple[bytes, int]:
    size, offset = decode_length(view, offset)
    if size > limit:
        raise RemoteProtocolError(f"{what} of {size} octets is longer than {limit}")
    return _take(view, offset, size), offset + size


def _decode_octet_string(data_type: DataType, view: memoryview, offset: int, depth: int) -> tuple[Data, int]:
    raw, offset = _decode_counted(view, offset, MAX_OCTETS, data_type.name)
    return Data(data_type, raw), offset


def _decode_text(data_type: DataType, view: memoryview, offset: int, depth: int) -> tuple[Data, int]:
    raw, offset = _decode_counted(view, offset, MAX_OCTETS, data_type.name)
    try:
        return Data(data_type, raw.decode(_TEXT_ENCODINGS[data_type])), offset
    except UnicodeDecodeError as exc:
        raise RemoteProtocolError(f"{data_type.name} is not valid {exc.encoding}") from None


def _decode_bit_string(data_type: DataType, view: memoryview, offset: int, depth: int) -> tuple[Data, int]:
    start = offset
    bits, offset = decode_length(view, offset)
    if bits > MAX_OCTETS * 8:
        raise RemoteProtocolError(f"bit-string of {bits} bits is longer than {MAX_OCTETS * 8} (offset {start})")
    size = (bits + 7) // 8
    return Data(data_type, BitString(bits, _take(view, offset, size))), offset + size


def _decode_fixed_octets(data_type: DataType, view: memoryview, offset: int, depth: int) -> tuple[Data, int]:
    size = _FIXED_OCTETS[data_type]
    return Data(data_type, _take(view, offset, size)), offset + size


def _decode_container(data_type: DataType, view: memoryview, offset: int, depth: int) -> tuple[Data, int]:
    if depth >= MAX_DEPTH:
        raise RemoteProtocolError(f"nesting deeper than {MAX_DEPTH} at offset {offset - 1}")
    count, offset = decode_length(view, offset)
    # Every element takes at least one octet: a count larger than what is left is a lie, refused before any work.
    if count > MAX_ELEMENTS or count > len(view) - offset:
        raise RemoteProtocolError(f"{data_type.name} of {count} elements is too long (offset {offset})")
    items: list[Data] = []
    for _ in range(count):
        item, offset = _decode(view, offset, depth + 1)
        items.append(item)
    return Data(data_type, tuple(items)), offset


_Decoder = Callable[[DataType, memoryview, int, int], tuple[Data, int]]
_DECODERS: dict[DataType, _Decoder] = {
    DataType.NULL_DATA: _decode_null,
    DataType.ARRAY: _decode_container,
    DataType.STRUCTURE: _decode_container,
    DataType.BOOLEAN: _decode_boolean,
    DataType.BIT_STRING: _decode_bit_string,
    DataType.OCTET_STRING: _decode_octet_string,
    DataType.VISIBLE_STRING: _decode_text,
    DataType.UTF8_STRING: _decode_text,
    DataType.FLOAT32: _decode_float,
    DataType.FLOAT64: _decode_float,
    **{data_type: _decode_integer for data_type in INTEGER_WIDTHS},
    **{data_type: _decode_fixed_octets for data_type in _FIXED_OCTETS},
}


def _view(buffer: bytes | memoryview) -> memoryview:
    view = memoryview(buffer)
    return view if view.format == "B" and view.ndim == 1 else view.cast("B")


def _octet(view: memoryview, offset: int) -> int:
    if not 0 <= offset < len(view):
        raise RemoteProtocolError(f"truncated: no octet at offset {offset}")
    return view[offset]


def _take(view: memoryview, offset: int, size: int) -> bytes:
    if offset < 0 or offset + size > len(view):
        raise RemoteProtocolError(f"truncated: {size} octets needed at offset {offset}, {len(view) - offset} left")
    return bytes(view[offset : offset + size])
