"""Where a simulated meter's live values come from: the `MeterState` protocol, and a fixed in-memory one for tests.

The COSEM objects ask a MeterState for the clock, measured quantities (in their unit: Wh, V, A), plain values
(serial number, status words), profile rows and the relay; they tell it about writes and method calls. Scaling,
typing and encoding stay in the objects, so a physics model deals in engineering values only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from hes.obis import ObisCode
from hes.obis.profile_types import ObjectReference
from hes.simulator.dlms.values import Data

__all__ = ["InMemoryMeterState", "MeterState", "PlainValue", "RowValue", "TimeSpan"]

# A value a meter state hands over: the objects type it from their profile (str -> octet-string or visible-string).
PlainValue = int | float | str | bytes | bool
# One cell of a profile row: a moment (clock columns), a quantity in its unit, a plain value, a ready Data, or
# None for a value the meter did not capture.
RowValue = datetime | PlainValue | Data | None
# The moments a client's selective access by range asks for: [from, to], either end open (None).
TimeSpan = tuple[datetime | None, datetime | None]


class MeterState(Protocol):
    """The live values of one simulated meter, as its COSEM objects read and change them."""

    def clock(self) -> datetime:
        """The meter's clock now: an aware datetime in the meter's own time zone."""
        ...

    def set_clock(self, value: datetime) -> None:
        """Set the meter's clock (an aware datetime)."""
        ...

    def measurement(self, obis: ObisCode) -> float | None:
        """A register's or instantaneous value in its unit (Wh, V, A, Hz, ...); None if the meter has none."""
        ...

    def data_value(self, obis: ObisCode) -> PlainValue | None:
        """The value of a Data object (serial number, firmware version, status word); None if the meter has none."""
        ...

    def profile_rows(
        self, obis: ObisCode, columns: Sequence[ObjectReference], span: TimeSpan | None = None
    ) -> Sequence[Sequence[RowValue]]:
        """The entries of a profile (load profile, billing values, event log), oldest first, one value per column.

        `span` is a hint: the client reads only entries stamped within it, so a state that generates its rows may
        leave the others out. Returning more is always correct (the profile filters again).
        """
        ...

    def relay_connected(self) -> bool:
        """Whether the supply relay is closed (the customer has power)."""
        ...

    def set_relay_connected(self, connected: bool) -> None:
        """Close (True) or open (False) the supply relay."""
        ...

    def attribute_written(self, obis: ObisCode, attribute: int, value: Data) -> None:
        """A client wrote an attribute (a token, a threshold, a push destination)."""
        ...

    def method_invoked(self, obis: ObisCode, method: int, parameters: Data | None) -> None:
        """A client invoked a method and the object carried it out (a relay operation, a firmware activation)."""
        ...


@dataclass
class InMemoryMeterState:
    """A MeterState of fixed values, for tests and demos: nothing changes unless a client or the test changes it."""

    now: datetime
    measurements: dict[ObisCode, float] = field(default_factory=dict)
    data_values: dict[ObisCode, PlainValue] = field(default_factory=dict)
    rows: dict[ObisCode, list[tuple[RowValue, ...]]] = field(default_factory=dict)
    connected: bool = True
    writes: list[tuple[ObisCode, int, Data]] = field(default_factory=list)
    invocations: list[tuple[ObisCode, int, Data | None]] = field(default_factory=list)

    @classmethod
    def of(
        cls,
        now: datetime,
        measurements: Mapping[str, float] | None = None,
        data_values: Mapping[str, PlainValue] | None = None,
        rows: Mapping[str, Sequence[tuple[RowValue, ...]]] | None = None,
    ) -> InMemoryMeterState:
        """A state keyed by OBIS codes written as text ("1-0:1.8.0.255").

        Raises:
            ValueError: `now` is naive, or a key is not an OBIS code.
        """
        if now.utcoffset() is None:
            raise ValueError("the meter clock needs a time zone")
        return cls(
            now,
            {ObisCode.parse(key): float(value) for key, value in (measurements or {}).items()},
            {ObisCode.parse(key): value for key, value in (data_values or {}).items()},
            {ObisCode.parse(key): list(value) for key, value in (rows or {}).items()},
        )

    def clock(self) -> datetime:
        """The fixed clock."""
        return self.now

    def set_clock(self, value: datetime) -> None:
        """Move the fixed clock."""
        self.now = value

    def measurement(self, obis: ObisCode) -> float | None:
        """The measurement stored for `obis`."""
        return self.measurements.get(obis)

    def data_value(self, obis: ObisCode) -> PlainValue | None:
        """The plain value stored for `obis`."""
        return self.data_values.get(obis)

    def profile_rows(
        self, obis: ObisCode, columns: Sequence[ObjectReference], span: TimeSpan | None = None
    ) -> Sequence[Sequence[RowValue]]:
        """The rows stored for `obis`, whatever the span (the columns are the caller's to match)."""
        return self.rows.get(obis, [])

    def relay_connected(self) -> bool:
        """The relay flag."""
        return self.connected

    def set_relay_connected(self, connected: bool) -> None:
        """Set the relay flag."""
        self.connected = connected

    def attribute_written(self, obis: ObisCode, attribute: int, value: Data) -> None:
        """Remember the write."""
        self.writes.append((obis, attribute, value))

    def method_invoked(self, obis: ObisCode, method: int, parameters: Data | None) -> None:
        """Remember the invocation."""
        self.invocations.append((obis, method, parameters))
