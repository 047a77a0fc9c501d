"""Data (class 1), Register (3), Extended register (4) and Demand register (5): Blue Book 4.3.1 - 4.3.4.

A register's value is the meter state's measurement (in the object's unit) divided by 10^scaler and typed as the
profile says; attribute scaler_unit is the structure {scaler integer, unit enum}. A written value (a threshold)
replaces the measurement until the register is reset. Reset restarts the count from zero.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hes.obis.profile_types import CosemObjectSpec
from hes.obis.units import UNITLESS
from hes.simulator.cosem.base import ActionOutcome, CosemObject, ReadResult, Resolver
from hes.simulator.cosem.conversions import encode_time, fits, scaled, to_data, zero_data
from hes.simulator.cosem.state import MeterState, RowValue
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


class DataObject(CosemObject):
    """Data (class 1): one value, from the meter state, a client's write, or the profile's default."""

    def __init__(self, spec: CosemObjectSpec, state: MeterState, resolve: Resolver) -> None:
        super().__init__(spec, state, resolve)
        self._value_spec = self.attribute_type(2, "octet-string")
        self._written: Data | None = None
        self.readers[2] = self._read_value
        self.writers[2] = self._write_value

    def _read_value(self) -> ReadResult:
        if self._written is not None:
            return self._written
        live = self.state.data_value(self.obis)
        spec = self._value_spec
        if live is None:
            return self.initial(2, zero_data(spec.data_type, spec.size))
        try:
            return to_data(live, spec.data_type, spec.size, self.zone)
        except ValueError:
            return DataAccessResult.OTHER_REASON  # the state's value does not fit the profile's type

    def _write_value(self, value: Data) -> DataAccessResult:
        if not fits(value, self._value_spec):
            return DataAccessResult.TYPE_UNMATCHED
        self._written = value
        self.state.attribute_written(self.obis, 2, value)
        return DataAccessResult.SUCCESS


class Register(CosemObject):
    """Register (class 3): a measured quantity with its scaler and unit."""

    VALUE = 2
    SCALER_UNIT = 3

    def __init__(self, spec: CosemObjectSpec, state: MeterState, resolve: Resolver) -> None:
        super().__init__(spec, state, resolve)
        self.scaler = spec.scaler if spec.scaler is not None else 0
        self.unit = spec.unit if spec.unit is not None else UNITLESS
        self._value_spec = self.attribute_type(self.VALUE, "double-long-unsigned")
        self._written: Data | None = None
        self._offset = 0.0  # the measurement at the last reset
        self.readers[self.VALUE] = self.value
        self.readers[self.SCALER_UNIT] = lambda: structure(integer(self.scaler), enum(self.unit))
        self.writers[self.VALUE] = self._write_value
        self.invokers[1] = self._reset

    def quantity(self) -> float | None:
        """The value in the object's unit since the last reset; None when the meter state has none."""
        measured = self.state.measurement(self.obis)
        return None if measured is None else measured - self._offset

    def value(self) -> ReadResult:
        """The raw value: written, else measured and scaled, else the profile's default (in the unit), else 0."""
        if self._written is not None:
            return self._written
        quantity = self.quantity()
        spec = self._value_spec
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
            return scaled(value, self.scaler, self._value_spec.data_type)
        return super().capture(attribute, value)

    def _write_value(self, value: Data) -> DataAccessResult:
        if not fits(value, self._value_spec):
            return DataAccessResult.TYPE_UNMATCHED
        self._written = value
        self.state.attribute_written(self.obis, self.VALUE, value)
        return DataAccessResult.SUCCESS

    def _reset(self, parameters: Data | None) -> ActionOutcome:
        measured = self.state.measurement(self.obis)
        self._offset = measured if measured is not None else 0.0
        self._written = None if measured is not None else zero_data(self._value_spec.data_type)
        self.state.method_invoked(self.obis, 1, parameters)
        return ActionResult.SUCCESS


class ExtendedRegister(Register):
    """Extended register (class 4): a register with a status and the time its value was captured."""

    def __init__(self, spec: CosemObjectSpec, state: MeterState, resolve: Resolver) -> None:
        super().__init__(spec, state, resolve)
        self.setting(4, unsigned(0))
        self.readers[5] = lambda: octets(encode_time(self.state.clock(), self.zone))


class DemandRegister(Register):
    """Demand register (class 5): current and last average demand over a sliding period."""

    VALUE = 2  # current_average_value
    SCALER_UNIT = 4

    def __init__(self, spec: CosemObjectSpec, state: MeterState, resolve: Resolver) -> None:
        super().__init__(spec, state, resolve)
        self._last: ReadResult | None = None
        self._period_start: datetime | None = None
        self.readers[3] = lambda: self._last if self._last is not None else self.value()
        self.setting(5, unsigned(0))
        self.readers[6] = lambda: octets(encode_time(self.state.clock(), self.zone))
        self.readers[7] = lambda: octets(encode_time(self._start(), self.zone))
        self.setting(8, double_long_unsigned(900), check=lambda value: value.value != 0)
        self.setting(9, long_unsigned(1))
        self.invokers[2] = self._next_period

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
