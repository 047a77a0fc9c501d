"""Data (class 1), Register (3), Extended register (4) and Demand register (5): Blue Book 4.3.1 - 4.3.4.

A register's value is the meter state's measurement (in the object's unit) divided by 10^scaler and typed as the
profile says; attribute scaler_unit is the structure {scaler integer, unit enum}. A written value (a threshold)
replaces the measurement until the register is reset. Reset restarts the count from zero.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

from hes.obis.profile_types import AttributeSpec
from hes.obis.units import UNITLESS
from hes.simulator.cosem.base import ActionOutcome, CosemObject, ReadResult
from hes.simulator.cosem.conversions import encode_time, fits, scaled, to_data, zero_data
from hes.simulator.cosem.shared import Setting
from hes.simulator.cosem.state import RowValue
from hes.simulator.dlms.apdu_services import ActionResult, DataAccessResult
from hes.simulator.dlms.values import (
    Data,
    double_long_unsigned,
    enum,
    integer,
    long_unsigned,
    octets,
    structure,
    unsigned,
)

__all__ = ["DataObject", "DemandRegister", "ExtendedRegister", "Register"]

# Scaler_unit structures in use: a handful of (scaler, unit) pairs across every brand, shared by all registers.
_SCALER_UNITS = 256


@functools.lru_cache(maxsize=_SCALER_UNITS)
def _scaler_unit(scaler: int, unit: int) -> Data:
    return structure(integer(scaler), enum(unit))


class DataObject(CosemObject):
    """Data (class 1): one value, from the meter state, a client's write, or the profile's default."""

    _value: Data | None = None  # what a client wrote; None while the meter state's value shows

    @property
    def value_spec(self) -> AttributeSpec:
        """The profile's spec of the value (an octet-string when the profile does not list it)."""
        return self.attribute_type(2, "octet-string")

    def read(self, attribute: int) -> ReadResult | None:
        """value (2)."""
        return self._read_value() if attribute == 2 else None

    def write(self, attribute: int, value: Data) -> DataAccessResult | None:
        """value (2)."""
        return self._write_value(value) if attribute == 2 else None

    def _read_value(self) -> ReadResult:
        if self._value is not None:
            return self._value
        live = self.state.data_value(self.obis)
        spec = self.value_spec
        if live is None:
            return self.initial(2, zero_data(spec.data_type, spec.size))
        try:
            return to_data(live, spec.data_type, spec.size, self.zone)
        except ValueError:
            return DataAccessResult.OTHER_REASON  # the state's value does not fit the profile's type

    def _write_value(self, value: Data) -> DataAccessResult:
        if not fits(value, self.value_spec):
            return DataAccessResult.TYPE_UNMATCHED
        self._value = value
        self.state.attribute_written(self.obis, 2, value)
        return DataAccessResult.SUCCESS


class Register(CosemObject):
    """Register (class 3): a measured quantity with its scaler and unit."""

    VALUE = 2
    SCALER_UNIT = 3
    _value: Data | None = None  # what a client wrote; None while the measurement shows
    _offset = 0.0  # the measurement at the last reset

    @property
    def scaler(self) -> int:
        """The power of ten of the raw value (0 when the profile gives none)."""
        return self.spec.scaler if self.spec.scaler is not None else 0

    @property
    def unit(self) -> int:
        """The unit enum (unitless when the profile gives none)."""
        return self.spec.unit if self.spec.unit is not None else UNITLESS

    @property
    def value_spec(self) -> AttributeSpec:
        """The profile's spec of the value (a double-long-unsigned when the profile does not list it)."""
        return self.attribute_type(self.VALUE, "double-long-unsigned")

    def read(self, attribute: int) -> ReadResult | None:
        """value and scaler_unit."""
        if attribute == self.VALUE:
            return self.value()
        if attribute == self.SCALER_UNIT:
            return _scaler_unit(self.scaler, self.unit)
        return None

    def write(self, attribute: int, value: Data) -> DataAccessResult | None:
        """value (a threshold, a preset)."""
        return self._write_value(value) if attribute == self.VALUE else None

    def invoke(self, method: int, parameters: Data | None) -> ActionOutcome | None:
        """reset (1)."""
        return self._reset(parameters) if method == 1 else None

    def quantity(self) -> float | None:
        """The value in the object's unit since the last reset; None when the meter state has none."""
        measured = self.state.measurement(self.obis)
        return None if measured is None else measured - self._offset

    def value(self) -> ReadResult:
        """The raw value: written, else measured and scaled, else the profile's default (in the unit), else 0."""
        if self._value is not None:
            return self._value
        quantity = self.quantity()
        spec = self.value_spec
        if quantity is None:
            try:
                quantity = float(spec.default) if spec.default is not None else None
            except ValueError:
                quantity = None
        if quantity is None:
            return zero_data(spec.data_type, spec.size)
        try:
            return scaled(quantity, self.scaler, spec.data_type)
        except ValueError:
            return DataAccessResult.OTHER_REASON  # a quantity for a value the profile types as a structure

    def capture(self, attribute: int, value: RowValue) -> Data:
        """A captured quantity is scaled like the value; other attributes are typed as the profile says."""
        if attribute == self.VALUE and isinstance(value, int | float) and not isinstance(value, bool):
            return scaled(value, self.scaler, self.value_spec.data_type)
        return super().capture(attribute, value)

    def _write_value(self, value: Data) -> DataAccessResult:
        if not fits(value, self.value_spec):
            return DataAccessResult.TYPE_UNMATCHED
        self._value = value
        self.state.attribute_written(self.obis, self.VALUE, value)
        return DataAccessResult.SUCCESS

    def _reset(self, parameters: Data | None) -> ActionOutcome:
        measured = self.state.measurement(self.obis)
        self._offset = measured if measured is not None else 0.0
        self._value = None if measured is not None else zero_data(self.value_spec.data_type)
        self.state.method_invoked(self.obis, 1, parameters)
        return ActionResult.SUCCESS


class ExtendedRegister(Register):
    """Extended register (class 4): a register with a status and the time its value was captured."""

    SETTINGS = (Setting(4, unsigned(0)),)  # status

    def read(self, attribute: int) -> ReadResult | None:
        """capture_time (5), and the register's attributes."""
        if attribute == 5:
            return octets(encode_time(self.state.clock(), self.zone))
        return super().read(attribute)


def _nonzero(value: Data) -> bool:
    return value.value != 0


class DemandRegister(Register):
    """Demand register (class 5): current and last average demand over a sliding period."""

    VALUE = 2  # current_average_value
    SCALER_UNIT = 4
    SETTINGS = (
        Setting(5, unsigned(0)),  # status
        Setting(8, double_long_unsigned(900), check=_nonzero),  # period, seconds
        Setting(9, long_unsigned(1)),  # number_of_periods
    )
    _last: ReadResult | None = None  # last_average_value, once a period has closed
    _period_start: datetime | None = None

    def read(self, attribute: int) -> ReadResult | None:
        """last_average_value (3), capture_time (6), start_time_current (7), and the register's attributes."""
        if attribute == 3:
            return self._last if self._last is not None else self.value()
        if attribute == 6:
            return octets(encode_time(self.state.clock(), self.zone))
        if attribute == 7:
            return octets(encode_time(self._start(), self.zone))
        return super().read(attribute)

    def invoke(self, method: int, parameters: Data | None) -> ActionOutcome | None:
        """next_period (2), and reset (1)."""
        return self._next_period(parameters) if method == 2 else super().invoke(method, parameters)

    def _start(self) -> datetime:
        if self._period_start is not None:
            return self._period_start
        now = self.state.clock()
        period = self.stored(8).value
        seconds = int(period) if isinstance(period, int) and period > 0 else 900
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        elapsed = int((now - midnight).total_seconds())
        return midnight + timedelta(seconds=elapsed - elapsed % seconds)

    def _next_period(self, parameters: Data | None) -> ActionOutcome:
        self._last = self.value()
        self._period_start = self.state.clock()
        self.state.method_invoked(self.obis, 2, parameters)
        return ActionResult.SUCCESS
