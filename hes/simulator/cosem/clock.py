"""Clock (class 8, Blue Book 4.5.1): the meter's local time as 12 date-time octets, its zone, status and DST.

The time and zone come from the meter state's clock (an aware datetime in the meter's zone). time_zone uses the
sign of the date-time deviation field (IEC 62056-6-2 4.1.6.1: minus the UTC offset, so UTC+1 is -60). Setting the
time moves the meter state's clock; a time sent without deviation is the meter's local time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hes.simulator.cosem.base import ActionOutcome, CosemObject, ReadResult
from hes.simulator.cosem.conversions import (
    DATE_TIME_SIZE,
    UNSPECIFIED_DATE_TIME,
    decode_time,
    deviation_minutes,
    encode_time,
)
from hes.simulator.cosem.shared import Setting
from hes.simulator.dlms.apdu_services import ActionResult, DataAccessResult
from hes.simulator.dlms.values import Data, DataType, boolean, enum, integer, octets, unsigned

__all__ = ["CLOCK_BASE_CRYSTAL", "MAX_SHIFT_SECONDS", "Clock"]

CLOCK_BASE_CRYSTAL = 1  # clock_base enum: internal crystal
# shift_time accepts -900..900 seconds (Blue Book 4.5.1, method 6).
MAX_SHIFT_SECONDS = 900
_MAX_DEVIATION = 720  # minutes either side of UTC (IEC 62056-6-2 4.1.6.1)
_QUARTER = timedelta(minutes=15)
_MINUTE = timedelta(minutes=1)


class Clock(CosemObject):
    """Clock (class 8): reads and sets the meter state's clock."""

    SETTINGS = (
        Setting(4, unsigned(0)),  # status
        Setting(5, octets(UNSPECIFIED_DATE_TIME)),  # daylight_savings_begin
        Setting(6, octets(UNSPECIFIED_DATE_TIME)),  # daylight_savings_end
        Setting(7, integer(60)),  # daylight_savings_deviation, minutes
        Setting(8, boolean(False)),  # daylight_savings_enabled
        Setting(9, enum(CLOCK_BASE_CRYSTAL)),  # clock_base
    )
    _time_zone: Data | None = None  # what a client wrote; None while the clock's own offset shows

    def read(self, attribute: int) -> ReadResult | None:
        """time (2) and time_zone (3)."""
        if attribute == 2:
            now = self.state.clock()
            return octets(encode_time(now, now.tzinfo))
        if attribute == 3:
            return self._time_zone or Data(DataType.LONG, self._deviation())
        return None

    def write(self, attribute: int, value: Data) -> DataAccessResult | None:
        """time (2) and time_zone (3)."""
        if attribute == 2:
            return self._write_time(value)
        if attribute == 3:
            return self._write_time_zone(value)
        return None

    def invoke(self, method: int, parameters: Data | None) -> ActionOutcome | None:
        """adjust_to_quarter (1), adjust_to_minute (3), shift_time (6)."""
        if method == 1:
            return self._round(_QUARTER, 1, parameters)
        if method == 3:
            return self._round(_MINUTE, 3, parameters)
        if method == 6:
            return self._shift(parameters)
        return None

    def _deviation(self) -> int:
        deviation = deviation_minutes(self.state.clock())
        return 0 if abs(deviation) > _MAX_DEVIATION else deviation

    def _write_time(self, value: Data) -> DataAccessResult:
        if value.type not in (DataType.OCTET_STRING, DataType.DATE_TIME) or not isinstance(value.value, bytes):
            return DataAccessResult.TYPE_UNMATCHED
        if len(value.value) != DATE_TIME_SIZE:
            return DataAccessResult.TYPE_UNMATCHED
        moment = decode_time(value.value, self.zone)
        if moment is None:
            return DataAccessResult.OTHER_REASON  # wildcards or an impossible date: not one moment to set
        self.state.set_clock(moment.astimezone(self.zone))
        self.state.attribute_written(self.obis, 2, value)
        return DataAccessResult.SUCCESS

    def _write_time_zone(self, value: Data) -> DataAccessResult:
        if value.type is not DataType.LONG or not isinstance(value.value, int):
            return DataAccessResult.TYPE_UNMATCHED
        if abs(value.value) > _MAX_DEVIATION:
            return DataAccessResult.OTHER_REASON
        self._time_zone = value
        self.state.attribute_written(self.obis, 3, value)
        return DataAccessResult.SUCCESS

    def _set(self, moment: datetime, method: int, parameters: Data | None) -> ActionOutcome:
        self.state.set_clock(moment)
        self.state.method_invoked(self.obis, method, parameters)
        return ActionResult.SUCCESS

    def _round(self, step: timedelta, method: int, parameters: Data | None) -> ActionOutcome:
        # adjust_to_quarter / adjust_to_minute: to the nearest quarter hour or minute (Blue Book 4.5.1).
        now = self.state.clock()
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        steps = round((now - midnight) / step)
        return self._set(midnight + steps * step, method, parameters)

    def _shift(self, parameters: Data | None) -> ActionOutcome:
        if parameters is None or parameters.type is not DataType.LONG or not isinstance(parameters.value, int):
            return ActionResult.TYPE_UNMATCHED
        if abs(parameters.value) > MAX_SHIFT_SECONDS:
            return ActionResult.OTHER_REASON
        return self._set(self.state.clock() + timedelta(seconds=parameters.value), 6, parameters)
