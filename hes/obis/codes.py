"""The OBIS code value type (IEC 62056-61 object identification system): six value groups A to F."""

from __future__ import annotations

import re
from dataclasses import astuple, dataclass

# "1-0:1.8.0.255", and the "*" that IEC 62056-61 uses before group F ("1-0:1.8.0*255").
_DISPLAY = re.compile(r"([0-9]{1,3})-([0-9]{1,3}):([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})[.*]([0-9]{1,3})")
# "1.0.1.8.0.255", the dotted form of vendor lists and of logical names printed by DLMS tools.
_DOTTED = re.compile(r"([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})")
# Longest text worth echoing back in an error message.
_ECHO_LIMIT = 40


@dataclass(frozen=True, order=True, slots=True)
class ObisCode:
    """An OBIS code: value groups A (medium) B (channel) C (quantity) D (processing) E (tariff) F (billing period)."""

    a: int
    b: int
    c: int
    d: int
    e: int
    f: int

    def __post_init__(self) -> None:
        for name, group in zip("abcdef", astuple(self), strict=True):
            # bool is an int subclass; True as a value group is a caller's bug, not "1".
            if not isinstance(group, int) or isinstance(group, bool) or not 0 <= group <= 255:
                raise ValueError(f"OBIS value group {name.upper()} must be an integer 0-255, not {group!r}")

    @classmethod
    def parse(cls, value: str | bytes | bytearray | memoryview | ObisCode) -> ObisCode:
        """An OBIS code from text ("1-0:1.8.0.255", "1-0:1.8.0*255", "1.0.1.8.0.255") or 6 raw bytes.

        The 6-byte form is the COSEM logical name as it travels in DLMS APDUs (octet-string of 6).

        Raises:
            ValueError: anything else, with the offending input in the message.
        """
        if isinstance(value, ObisCode):
            return value
        if isinstance(value, bytes | bytearray | memoryview):
            raw = bytes(value)
            if len(raw) != 6:
                raise ValueError(f"an OBIS code in binary form is 6 bytes, not {len(raw)}")
            return cls(*raw)
        if not isinstance(value, str):
            raise ValueError(f"an OBIS code is text or 6 bytes, not {type(value).__name__}")
        text = value.strip()
        match = _DISPLAY.fullmatch(text) or _DOTTED.fullmatch(text)
        if match is None:
            shown = text if len(text) <= _ECHO_LIMIT else text[:_ECHO_LIMIT] + "..."
            raise ValueError(f"{shown!r} is not an OBIS code; write it as A-B:C.D.E.F, e.g. 1-0:1.8.0.255")
        try:
            return cls(*(int(group) for group in match.groups()))
        except ValueError as error:
            raise ValueError(f"{text!r} is not an OBIS code: {error}") from None

    def to_bytes(self) -> bytes:
        """The 6-byte logical name, as DLMS carries it."""
        return bytes(astuple(self))

    def __str__(self) -> str:
        return f"{self.a}-{self.b}:{self.c}.{self.d}.{self.e}.{self.f}"
