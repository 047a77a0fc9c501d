"""A simulated meter's live values from its physics model: the `MeterState` its COSEM objects read and change.

`LiveMeterState` answers the COSEM objects (hes.simulator.cosem) from a `MeterModel` (hes.simulator.physics):
- the clock runs in UTC (the model's time), shifted by whatever a client's clock setting moved it by; the model
  itself always answers for the real present (`now`, injectable for tests);
- registers (energy with TOU rates, instantaneous values, demand; hes.simulator.live_readings) in the unit their
  profile's scaler expects: a cumulative register of scaler 1 (10 Wh) reads floor(Wh / 10), so it and its load
  profile columns stay exactly consistent;
- profiles: the 15-minute load profile stamped with each interval's end, daily and monthly billing values and
  the event logs (hes.simulator.live_logs), generated when read, only for the span a range access asks for and
  never further back than a real meter's buffer (`History`); nothing is stored;
- the relay: a disconnect control's remote_disconnect / remote_reconnect sets the model's relay, so consumption
  stops or resumes from that moment and the disconnector log records it.

`live_state(spec, profile)` builds one for a fleet meter: its `MeterModel` follows from the MeterSpec alone
(hes.simulator.fleet_model: customer class, size, PV; a fixed installation date, so registers continue across
simulator restarts). `History`, `FLEET_INSTALLED` and `model_for` are re-exported from there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from hes.obis import BrandProfile, ObisCode
from hes.obis.profile_types import ObjectReference
from hes.simulator.cosem.conversions import UNSPECIFIED_DATE_TIME, data_type
from hes.simulator.cosem.state import PlainValue, RowValue, TimeSpan
from hes.simulator.dlms.values import INTEGER_WIDTHS, Data, DataType, octets
from hes.simulator.fleet import MeterSpec
from hes.simulator.fleet_model import FLEET_INSTALLED, History, model_for
from hes.simulator.live_logs import FAILURE_COUNTERS, FAILURE_REGISTERS, LOGS, LogEntry, entries, last_code
from hes.simulator.live_readings import (
    CUMULATIVE,
    DemandBook,
    Maximum,
    Moment,
    billing_moment,
    interval_floor,
    measure,
)
from hes.simulator.physics import INTERVAL, EventCode, MeterEvent, MeterModel

__all__ = ["FLEET_INSTALLED", "History", "LiveMeterState", "live_state", "model_for"]

Now = Callable[[], datetime]

SERIAL_NUMBER = ObisCode(0, 0, 96, 1, 0, 255)
LOGICAL_DEVICE_NAME = ObisCode(0, 0, 42, 0, 0, 255)
FIRMWARE = ObisCode(1, 0, 0, 2, 0, 255)
_LOAD_PROFILE = ObisCode(1, 0, 99, 1, 0, 255)
_MONTHLY_BILLING = ObisCode(0, 0, 98, 1, 0, 255)
_DAILY_BILLING = ObisCode(0, 0, 98, 2, 0, 255)
_CLOCK_CLASS, _DATA_CLASS = 8, 1
_REGISTER_CLASSES = frozenset({3, 4, 5})
_VALUE, _CAPTURE_TIME = 2, 5  # register attributes: value; capture_time of an extended register
_AMR_POWER_DOWN = 0x80  # IDIS AMR profile status (0-0:96.10.1.255) bit 7: the supply failed in the interval
_DAY = timedelta(days=1)
_TICK = timedelta(microseconds=1)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class LiveMeterState:
    """The MeterState of one simulated meter, backed by its physics model (see the module docstring)."""

    __slots__ = ("_demand", "_identity", "_now", "_offset", "history", "model", "profile")

    def __init__(
        self,
        model: MeterModel,
        profile: BrandProfile,
        identity: Mapping[ObisCode, PlainValue] | None = None,
        *,
        now: Now = _utc_now,
        history: History | None = None,
    ) -> None:
        """The live state of `model`, shaped for `profile`'s objects.

        Args:
            model: the meter's physics.
            profile: its brand profile (for the registers' scalers and value types).
            identity: fixed Data values (serial number, logical device name, firmware) by logical name.
            now: the real present, an aware datetime; tests inject their own.
            history: buffer depths.
        """
        self.model = model
        self.profile = profile
        self.history = history or History()
        self._identity = dict(identity or {})
        self._now = now
        self._offset = timedelta(0)  # the clock setting a client made, relative to the real present
        self._demand = DemandBook(model)

    # -- the MeterState protocol ---------------------------------------------------------------------

    def clock(self) -> datetime:
        """The meter's clock: UTC, plus the offset of the last clock setting."""
        return self._now().astimezone(UTC) + self._offset

    def set_clock(self, value: datetime) -> None:
        """Move the clock to `value` (aware) from now on; the physics keeps to the real present."""
        self._offset = value - self._now()

    def measurement(self, obis: ObisCode) -> float | None:
        """A register's present value in its unit, at the resolution its scaler shows; None if the model has none."""
        now = self._now()
        moment = Moment(self.model, now)
        return self._quantity(obis, self._register(obis, moment, now))

    def data_value(self, obis: ObisCode) -> PlainValue | None:
        """Identity values, the tamper status word, AMR status, last event codes and power failure counts."""
        if obis in self._identity:
            return self._identity[obis]
        now = self._now()
        return self._data_at(obis, Moment(self.model, now), now)

    def profile_rows(
        self, obis: ObisCode, columns: Sequence[ObjectReference], span: TimeSpan | None = None
    ) -> Sequence[Sequence[RowValue]]:
        """The rows of a load profile, billing profile or event log within its depth and `span`, oldest first."""
        now = self._now()
        low, high = span if span is not None else (None, None)
        low, high = _aware(low), _aware(high)
        start = max(low or self.model.start, self.model.start)
        end = min(high or now, now)
        if obis in LOGS:
            return self._log_rows(obis, columns, start, end, now)
        build = _PROFILES.get(obis)
        return [] if build is None or end < start else build(self, columns, start, end)

    def relay_connected(self) -> bool:
        """Whether the model's relay is closed now."""
        return self.model.relay_connected(self._now())

    def set_relay_connected(self, connected: bool) -> None:
        """Close or open the model's relay now: consumption resumes or stops, and the model logs the event.

        Raises:
            ValueError: the present is before the meter's installation or before an earlier change to it.
        """
        self.model.set_relay(connected, self._now())

    def attribute_written(self, obis: ObisCode, attribute: int, value: Data) -> None:
        """Nothing to do: settings a client writes live in the objects, and the physics does not depend on them."""

    def method_invoked(self, obis: ObisCode, method: int, parameters: Data | None) -> None:
        """Nothing to do: the relay comes through set_relay_connected, and other methods do not touch the physics."""

    # -- registers and data values at a moment -------------------------------------------------------

    def _register(self, obis: ObisCode, moment: Moment, now: datetime) -> float | Maximum | None:
        failures = FAILURE_REGISTERS.get(obis)
        if failures is not None:
            return failures(self._failures(moment.at))
        return measure(obis, moment, self._demand, now)

    def _quantity(self, obis: ObisCode, value: float | Maximum | None) -> float | None:
        if isinstance(value, Maximum):
            return value.watts
        if value is None:
            return None
        spec = self.profile.find(obis)
        scaler = spec.scaler if spec is not None and spec.scaler is not None else 0
        if obis.d == CUMULATIVE and scaler > 0:
            # The register shows whole steps of 10^scaler and its difference is the load profile's, exactly.
            step = 10**scaler
            return float(int(value) // step * step)
        return float(value)

    def _data_at(self, obis: ObisCode, moment: Moment, now: datetime) -> PlainValue | None:
        if obis in self._identity:
            return self._identity[obis]
        if obis.a != 0 or not moment.installed:
            return None
        reader = _DATA_READERS.get((obis.c, obis.d))
        if reader is not None:
            return reader(self, obis, moment)
        counter = FAILURE_COUNTERS.get(obis)
        return counter(self._failures(moment.at)) if counter is not None else None

    def _amr_status(self, obis: ObisCode, moment: Moment) -> int | None:
        if obis.e != 1:
            return None
        record = moment.record or self.model.interval(max(moment.at - _TICK, self.model.start))
        return _AMR_POWER_DOWN if record.power_down else 0

    def _last_event_code(self, obis: ObisCode, moment: Moment) -> int | None:
        # Event code object 0-0:96.11.e shows the newest code of event log 0-0:99.98.e (IDIS).
        return last_code(ObisCode(0, 0, 99, 98, obis.e, 255), self._events(moment.at))

    def _tamper_word(self, obis: ObisCode, moment: Moment) -> int | None:
        if obis.e != 0:
            return None
        flags = int(self.model.tamper_status(moment.at))
        spec = self.profile.find(obis)
        value = spec.attribute(_VALUE) if spec is not None else None
        if value is None or data_type(value.data_type) is not DataType.BIT_STRING:
            return flags
        # TamperFlag value 1 is the bit-string's first bit: its most significant bit on the wire.
        size = value.size or 8
        return int(f"{flags:0{size}b}"[::-1], 2)

    def _events(self, until: datetime) -> list[MeterEvent]:
        return self.model.events(max(until - self.history.events, self.model.start), until + _TICK)

    def _failures(self, until: datetime) -> list[MeterEvent]:
        """Every power up since installation (each ends a power failure and carries its duration)."""
        return [e for e in self.model.events(self.model.start, until + _TICK) if e.code is EventCode.POWER_UP]

    # -- profiles ------------------------------------------------------------------------------------

    def _cell(self, reference: ObjectReference, moment: Moment, now: datetime) -> RowValue:
        """What a capture object holds at `moment`."""
        if reference.class_id == _CLOCK_CLASS:
            return moment.at
        if reference.class_id == _DATA_CLASS:
            return self._data_at(reference.obis, moment, now)
        if reference.class_id in _REGISTER_CLASSES:
            value = self._register(reference.obis, moment, now)
            if reference.attribute == _CAPTURE_TIME:
                return value.at if isinstance(value, Maximum) else moment.at
            quantity = self._quantity(reference.obis, value)
            return quantity if quantity is not None else self._shown_without_value(reference.obis)
        return None

    def _shown_without_value(self, obis: ObisCode) -> float | None:
        """What a numeric register shows when the model has no value (a phase the meter lacks): its default, or 0."""
        spec = self.profile.find(obis)
        value = spec.attribute(_VALUE) if spec is not None else None
        if value is None or data_type(value.data_type) not in INTEGER_WIDTHS:
            return None
        try:
            return float(value.default) if value.default is not None else 0.0
        except ValueError:
            return 0.0

    def _row(self, columns: Sequence[ObjectReference], moment: Moment, now: datetime) -> list[RowValue]:
        return [self._cell(reference, moment, now) for reference in columns]

    def _load_profile_rows(
        self, columns: Sequence[ObjectReference], start: datetime, end: datetime
    ) -> list[list[RowValue]]:
        now = self._now()
        start = max(start, now - self.history.load_profile + _TICK)  # the depth's worth of rows, not one more
        # Intervals whose end lies in [start, end]: a row is captured when its interval closes.
        records = self.model.intervals(start - INTERVAL, interval_floor(end) - INTERVAL + timedelta(seconds=1))
        return [
            self._row(columns, Moment(self.model, record.end, record), now)
            for record in records
            if start <= record.end <= end
        ]

    def _daily_rows(self, columns: Sequence[ObjectReference], start: datetime, end: datetime) -> list[list[RowValue]]:
        now = self._now()
        first = _midnight(max(start, now - self.history.daily_billing + _TICK) - _TICK) + _DAY
        days = range((_midnight(end) - first) // _DAY + 1)
        return [self._row(columns, Moment(self.model, first + day * _DAY), now) for day in days]

    def _monthly_rows(self, columns: Sequence[ObjectReference], start: datetime, end: datetime) -> list[list[RowValue]]:
        now = self._now()
        moments = [billing_moment(now, period) for period in range(self.history.monthly_billing, 0, -1)]
        return [self._row(columns, Moment(self.model, at), now) for at in moments if start <= at <= end]

    def _log_rows(
        self, obis: ObisCode, columns: Sequence[ObjectReference], start: datetime, end: datetime, now: datetime
    ) -> list[list[RowValue]]:
        found = [entry for entry in entries(LOGS[obis], self._events(now)) if start <= entry.at <= end]
        return [self._entry_row(columns, entry, now) for entry in found]

    def _entry_row(self, columns: Sequence[ObjectReference], entry: LogEntry, now: datetime) -> list[RowValue]:
        row: list[RowValue] = []
        clocks = 0
        for reference in columns:
            if reference.class_id == _CLOCK_CLASS:
                # The first clock column is when the entry began, a second one when its spell ended.
                moment = entry.at if clocks == 0 else entry.ended
                row.append(moment if moment is not None else octets(UNSPECIFIED_DATE_TIME))
                clocks += 1
            elif reference.class_id == _DATA_CLASS and (reference.obis.c, reference.obis.d) == (96, 11):
                row.append(int(entry.code))
            elif reference.obis in FAILURE_REGISTERS:
                row.append(entry.duration.total_seconds() if entry.duration is not None else None)
            else:
                row.append(self._cell(reference, Moment(self.model, entry.at), now))
        return row


# (C, D) of a Data object (A = 0) -> how it reads: the status word, the AMR profile status, the last event code.
_DATA_READERS: dict[tuple[int, int], Callable[[LiveMeterState, ObisCode, Moment], int | None]] = {
    (96, 5): LiveMeterState._tamper_word,
    (96, 10): LiveMeterState._amr_status,
    (96, 11): LiveMeterState._last_event_code,
}
_Rows = Callable[[LiveMeterState, Sequence[ObjectReference], datetime, datetime], list[list[RowValue]]]
_PROFILES: dict[ObisCode, _Rows] = {
    _LOAD_PROFILE: LiveMeterState._load_profile_rows,
    _DAILY_BILLING: LiveMeterState._daily_rows,
    _MONTHLY_BILLING: LiveMeterState._monthly_rows,
}
"""Profiles with generated rows besides the event logs (hes.simulator.live_logs.LOGS); others stay empty."""


def _aware(moment: datetime | None) -> datetime | None:
    # A range bound without deviation is the meter's local time, which is UTC.
    return moment.replace(tzinfo=UTC) if moment is not None and moment.utcoffset() is None else moment


def _midnight(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def live_state(
    spec: MeterSpec, profile: BrandProfile, *, now: Now = _utc_now, history: History | None = None
) -> LiveMeterState:
    """The live state of a fleet meter: its model (`model_for`) and identity (serial, device name, firmware)."""
    brand = spec.brand_info
    identity: dict[ObisCode, PlainValue] = {
        SERIAL_NUMBER: spec.meter_number,
        LOGICAL_DEVICE_NAME: brand.flag_id + spec.meter_number.encode(),
        FIRMWARE: brand.firmware,
    }
    return LiveMeterState(model_for(spec, now()), profile, identity, now=now, history=history)
