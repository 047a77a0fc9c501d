"""The values a DLMS session hands to the rest of HES Core: frozen, typed, and free of gurux types (habit 4).

- `CosemValue`: a decoded A-XDR value as plain Python (int, float, bytes, str, BitString, datetime, tuples).
- `DlmsData`: a value with its A-XDR type, for what the HES writes (SET, ACTION parameters).
- `ClockReading`, `RegisterReading`, `ProfileReading` (rows, and (timestamp, obis, value, unit) entries): what the
  typed reads return, with timestamps in UTC and register values scaled.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum
from typing import TypeAlias

from hes.obis.codes import ObisCode
from hes.obis.profile_types import ObjectReference

__all__ = [
    "BitString",
    "ClockReading",
    "ColumnKind",
    "CosemValue",
    "DataType",
    "DlmsData",
    "GetResult",
    "ObjectReference",
    "ProfileColumn",
    "ProfileEntry",
    "ProfileReading",
    "ProfileRow",
    "RegisterReading",
]


class DataType(IntEnum):
    """The A-XDR data tags (IEC 62056-6-2 4.1.5, the Data CHOICE)."""

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
    LONG64 = 20
    LONG64_UNSIGNED = 21
    ENUM = 22
    FLOAT32 = 23
    FLOAT64 = 24
    DATE_TIME = 25
    DATE = 26
    TIME = 27


@dataclass(frozen=True, slots=True)
class BitString:
    """A bit-string (tamper and status words): `length` bits, first bit in the high bit of the first octet."""

    octets: bytes
    length: int

    def __post_init__(self) -> None:
        if not 0 <= self.length <= len(self.octets) * 8 or len(self.octets) != (self.length + 7) // 8:
            raise ValueError(f"{len(self.octets)} octets do not hold exactly {self.length} bits")

    def bit(self, index: int) -> bool:
        """Bit `index` (0 is the first bit on the wire).

        Raises:
            IndexError: `index` is outside the string.
        """
        if not 0 <= index < self.length:
            raise IndexError(f"bit {index} of a {self.length}-bit string")
        return bool(self.octets[index // 8] & (0x80 >> (index % 8)))

    def __str__(self) -> str:
        return "".join("1" if self.bit(index) else "0" for index in range(self.length))


# A decoded value: null-data is None, structures and arrays are tuples, date-times that decode are datetimes.
CosemValue: TypeAlias = "bool | int | float | bytes | str | BitString | datetime | tuple[CosemValue, ...] | None"

_INTEGER_RANGES = {
    DataType.INTEGER: (-(1 << 7), (1 << 7) - 1),
    DataType.LONG: (-(1 << 15), (1 << 15) - 1),
    DataType.DOUBLE_LONG: (-(1 << 31), (1 << 31) - 1),
    DataType.LONG64: (-(1 << 63), (1 << 63) - 1),
    DataType.UNSIGNED: (0, (1 << 8) - 1),
    DataType.ENUM: (0, (1 << 8) - 1),
    DataType.LONG_UNSIGNED: (0, (1 << 16) - 1),
    DataType.DOUBLE_LONG_UNSIGNED: (0, (1 << 32) - 1),
    DataType.LONG64_UNSIGNED: (0, (1 << 64) - 1),
}


@dataclass(frozen=True, slots=True)
class DlmsData:
    """A value with its A-XDR type, as the HES sends it (SET values, ACTION parameters).

    Build it with the class methods (`DlmsData.unsigned(3)`, `DlmsData.structure(...)`): they check the value
    fits its type, so a value that cannot be encoded fails before anything is sent.
    """

    type: DataType
    value: bool | int | float | bytes | str | BitString | datetime | tuple[DlmsData, ...] | None = None

    def __post_init__(self) -> None:
        bounds = _INTEGER_RANGES.get(self.type)
        if bounds is not None:
            if not isinstance(self.value, int) or isinstance(self.value, bool):
                raise ValueError(f"{self.type.name.lower()} holds an integer, not {self.value!r}")
            if not bounds[0] <= self.value <= bounds[1]:
                raise ValueError(f"{self.value} does not fit {self.type.name.lower()} ({bounds[0]}..{bounds[1]})")

    @classmethod
    def null(cls) -> DlmsData:
        """null-data."""
        return cls(DataType.NULL_DATA)

    @classmethod
    def boolean(cls, value: bool) -> DlmsData:
        """boolean."""
        return cls(DataType.BOOLEAN, bool(value))

    @classmethod
    def integer(cls, value: int) -> DlmsData:
        """integer (Integer8)."""
        return cls(DataType.INTEGER, value)

    @classmethod
    def long(cls, value: int) -> DlmsData:
        """long (Integer16)."""
        return cls(DataType.LONG, value)

    @classmethod
    def unsigned(cls, value: int) -> DlmsData:
        """unsigned (Unsigned8)."""
        return cls(DataType.UNSIGNED, value)

    @classmethod
    def long_unsigned(cls, value: int) -> DlmsData:
        """long-unsigned (Unsigned16)."""
        return cls(DataType.LONG_UNSIGNED, value)

    @classmethod
    def double_long(cls, value: int) -> DlmsData:
        """double-long (Integer32)."""
        return cls(DataType.DOUBLE_LONG, value)

    @classmethod
    def double_long_unsigned(cls, value: int) -> DlmsData:
        """double-long-unsigned (Unsigned32)."""
        return cls(DataType.DOUBLE_LONG_UNSIGNED, value)

    @classmethod
    def enum(cls, value: int) -> DlmsData:
        """enum."""
        return cls(DataType.ENUM, value)

    @classmethod
    def octets(cls, value: bytes) -> DlmsData:
        """octet-string."""
        return cls(DataType.OCTET_STRING, bytes(value))

    @classmethod
    def visible(cls, value: str) -> DlmsData:
        """visible-string (ASCII)."""
        value.encode("ascii")  # raises UnicodeEncodeError (a ValueError) for text it cannot carry
        return cls(DataType.VISIBLE_STRING, value)

    @classmethod
    def structure(cls, *items: DlmsData) -> DlmsData:
        """structure of `items`."""
        return cls(DataType.STRUCTURE, tuple(items))

    @classmethod
    def array(cls, *items: DlmsData) -> DlmsData:
        """array of `items` (all of one type)."""
        return cls(DataType.ARRAY, tuple(items))


@dataclass(frozen=True, slots=True)
class GetResult:
    """What the meter answered for one attribute: its value, or the data-access-result refusing it."""

    reference: ObjectReference
    value: CosemValue = None
    error: int | None = None  # a DataAccessResult; None when the value came

    @property
    def ok(self) -> bool:
        """Whether the value came."""
        return self.error is None


@dataclass(frozen=True, slots=True)
class ClockReading:
    """The meter's clock against the HES's, both in UTC."""

    meter_time: datetime  # UTC, the meter's deviation applied
    hes_time: datetime  # UTC, the middle of the round trip that read it
    deviation: int | None  # minutes the meter's local time is behind UTC (IEC 62056-6-2 sign); None: unspecified
    status: int | None  # clock status octet (0x80: daylight saving active); None: unspecified

    @property
    def drift(self) -> timedelta:
        """How far the meter's clock is ahead of the HES's (negative: behind)."""
        return self.meter_time - self.hes_time


@dataclass(frozen=True, slots=True)
class RegisterReading:
    """One register-like object read: its value (scaled for registers), unit, and capture time if it has one.

    A value the meter refused carries `error` (a DataAccessResult) and no value.
    """

    obis: ObisCode
    class_id: int
    value: CosemValue
    unit: str | None = None
    scaler: int | None = None  # the power of ten already applied to `value`
    capture_time: datetime | None = None  # extended / demand registers, UTC
    status: CosemValue = None  # extended / demand registers
    error: int | None = None

    @property
    def ok(self) -> bool:
        """Whether the value came."""
        return self.error is None


class ColumnKind(StrEnum):
    """How a profile column is shown."""

    TIME = "time"  # a clock column: datetimes in UTC
    SCALED = "scaled"  # a register value: scaled by its scaler_unit, with a unit
    RAW = "raw"  # anything else (status words, event codes): the value as the meter sent it


@dataclass(frozen=True, slots=True)
class ProfileColumn:
    """One capture object of a profile generic, with the scaler and unit its values were scaled with."""

    reference: ObjectReference
    kind: ColumnKind
    scaler: int | None = None
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class ProfileRow:
    """One buffer row: its timestamp (UTC) and one value per column (the time column holds the timestamp)."""

    timestamp: datetime
    values: tuple[CosemValue, ...]


@dataclass(frozen=True, slots=True)
class ProfileEntry:
    """One value of one row, ready for ingest: when, which object and attribute, the value and its unit."""

    timestamp: datetime
    obis: ObisCode
    attribute: int
    value: CosemValue
    unit: str | None


@dataclass(frozen=True, slots=True)
class ProfileReading:
    """Rows of a profile generic read by range, oldest first."""

    obis: ObisCode
    columns: tuple[ProfileColumn, ...]
    time_column: int  # index of the column the rows are timed by
    rows: tuple[ProfileRow, ...]

    def entries(self) -> Iterator[ProfileEntry]:
        """Each value of each row but the timestamp: (timestamp, obis, attribute, value, unit)."""
        columns = [(index, column) for index, column in enumerate(self.columns) if index != self.time_column]
        for row in self.rows:
            for index, column in columns:
                reference = column.reference
                yield ProfileEntry(row.timestamp, reference.obis, reference.attribute, row.values[index], column.unit)
