"""COSEM data values (IEC 62056-6-2 4.1.5, A-XDR "Data" CHOICE) as frozen, typed Python values.

The codec (`axdr.py`) turns these into bytes and back; the object model produces and consumes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class DataType(IntEnum):
    """Tag of each Data CHOICE alternative (IEC 62056-6-2, table 2)."""

    NULL_DATA = 0
    ARRAY = 1
    STRUCTURE = 2
    BOOLEAN = 3
    BIT_STRING = 4
    DOUBLE_LONG = 5
    DOUBLE_LONG_UNSIGNED = 6
    OCTET_STRING = 9
    VISIBLE_STRING = 10
    UTF8_STRING = 12
    BCD = 13
    INTEGER = 15
    LONG = 16
    UNSIGNED = 17
    LONG_UNSIGNED = 18
    COMPACT_ARRAY = 19
    LONG64 = 20
    LONG64_UNSIGNED = 21
    ENUM = 22
    FLOAT32 = 23
    FLOAT64 = 24
    DATE_TIME = 25
    DATE = 26
    TIME = 27


# Integer types and the range each can hold: (signed, bytes).
INTEGER_WIDTHS: dict[DataType, tuple[bool, int]] = {
    DataType.INTEGER: (True, 1),
    DataType.LONG: (True, 2),
    DataType.DOUBLE_LONG: (True, 4),
    DataType.LONG64: (True, 8),
    DataType.UNSIGNED: (False, 1),
    DataType.LONG_UNSIGNED: (False, 2),
    DataType.DOUBLE_LONG_UNSIGNED: (False, 4),
    DataType.LONG64_UNSIGNED: (False, 8),
    DataType.ENUM: (False, 1),
    DataType.BCD: (True, 1),
}

Scalar = None | bool | int | float | bytes | str


@dataclass(frozen=True, slots=True)
class Data:
    """One COSEM value: its type tag and Python value.

    value by type: NULL_DATA None; BOOLEAN bool; integer types and ENUM int; FLOAT32/FLOAT64 float;
    OCTET_STRING, DATE_TIME (12 octets), DATE (5), TIME (4) bytes; VISIBLE_STRING and UTF8_STRING str;
    BIT_STRING `BitString`; ARRAY and STRUCTURE tuple[Data, ...].
    """

    type: DataType
    value: Scalar | BitString | tuple[Data, ...]

    def __post_init__(self) -> None:
        width = INTEGER_WIDTHS.get(self.type)
        if width is None:
            return
        signed, size = width
        if not isinstance(self.value, int) or isinstance(self.value, bool):
            raise ValueError(f"{self.type.name} holds an integer, not {self.value!r}")
        low, high = (-(1 << (8 * size - 1)), (1 << (8 * size - 1)) - 1) if signed else (0, (1 << (8 * size)) - 1)
        if not low <= self.value <= high:
            raise ValueError(f"{self.value} does not fit {self.type.name} ({low}..{high})")

    @property
    def items(self) -> tuple[Data, ...]:
        """The elements of an ARRAY or STRUCTURE.

        Raises:
            TypeError: the value is not an array or structure.
        """
        if not isinstance(self.value, tuple):
            raise TypeError(f"{self.type.name} has no elements")
        return self.value


class EncodedData(Data):
    """A Data value that carries its own A-XDR encoding (build it with `axdr.pre_encoded`).

    For a large value served again and again, such as an Association LN object list: the codec sends the octets
    kept here instead of encoding the value once more. It equals the plain Data of the same type and value.
    """

    __slots__ = ("encoded",)
    encoded: bytes

    def __init__(self, value: Data, encoded: bytes) -> None:
        super().__init__(value.type, value.value)
        object.__setattr__(self, "encoded", encoded)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Data):
            return NotImplemented
        return (self.type, self.value) == (other.type, other.value)

    __hash__ = Data.__hash__


@dataclass(frozen=True, slots=True)
class BitString:
    """A bit-string: `length` bits, most significant first, packed in `octets`."""

    length: int
    octets: bytes


NULL = Data(DataType.NULL_DATA, None)


def structure(*items: Data) -> Data:
    """A STRUCTURE of `items`."""
    return Data(DataType.STRUCTURE, items)


def array(*items: Data) -> Data:
    """An ARRAY of `items` (all of one type, by the standard's rule; not enforced here)."""
    return Data(DataType.ARRAY, items)


def octets(value: bytes) -> Data:
    """An OCTET_STRING."""
    return Data(DataType.OCTET_STRING, value)


def unsigned(value: int) -> Data:
    """An UNSIGNED (8-bit)."""
    return Data(DataType.UNSIGNED, value)


def long_unsigned(value: int) -> Data:
    """A LONG_UNSIGNED (16-bit)."""
    return Data(DataType.LONG_UNSIGNED, value)


def double_long_unsigned(value: int) -> Data:
    """A DOUBLE_LONG_UNSIGNED (32-bit)."""
    return Data(DataType.DOUBLE_LONG_UNSIGNED, value)


def integer(value: int) -> Data:
    """An INTEGER (signed 8-bit)."""
    return Data(DataType.INTEGER, value)


def enum(value: int) -> Data:
    """An ENUM."""
    return Data(DataType.ENUM, value)


def boolean(value: bool) -> Data:
    """A BOOLEAN."""
    return Data(DataType.BOOLEAN, value)
