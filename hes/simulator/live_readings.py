"""What a simulated meter's registers read at one moment, computed from its physics model.

A register is found by its OBIS value groups (IEC 62056-6-1 7.5), read as tables rather than a list of codes:
- C, the quantity: 1/2 active energy or power import/export, 3/4 reactive, 9/10 apparent, 15 |A+| + |A-|,
  11 current, 12 voltage, 13 power factor, 14 frequency; 21-40 are the same for L1, 41-60 for L2, 61-80 for
  L3 (C + 20 per phase), 91 the neutral current;
- D, the processing: 8 cumulative energy, 7 instantaneous value, 4 current average demand, 6 maximum demand;
- E, the tariff rate (0 total, 1-4 the TOU rates), F the billing period (255 now, 1-99 the n-th last month).

Everything is in the model's units (Wh, varh, VAh, V, A, Hz, W); the COSEM objects scale. A quantity the model
does not have (reactive energy per rate, energy per phase) is None, and the object shows its profile default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hes.obis import ObisCode
from hes.simulator.physics import INTERVAL, InstantaneousValues, IntervalRecord, MeterModel, RegisterSnapshot

__all__ = [
    "CUMULATIVE",
    "DemandBook",
    "Maximum",
    "Moment",
    "billing_moment",
    "interval_floor",
    "measure",
    "month_start",
]

CUMULATIVE = 8  # value group D of a cumulative energy register (IEC 62056-6-1 7.5.3)
_INSTANTANEOUS, _AVERAGE_DEMAND, _MAXIMUM_DEMAND = 7, 4, 6
_ELECTRICITY = 1  # value group A
_CURRENT_VALUE = 255  # value group F of a present value; 1-99 are billing periods
_LAST_BILLING_PERIOD = 99
_PHASE_STEP = 20  # C of a phase quantity is the total's C + 20 x phase (L1 = 1, L2 = 2, L3 = 3)
_NEUTRAL_CURRENT = 91
_SUM_OF_ABSOLUTES = 15  # |+A| + |-A|
_PER_HOUR = timedelta(hours=1) / INTERVAL  # a quarter hour's energy times this is its mean power
_TICK = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# C -> the register snapshot's total and its four rate registers (None: the model keeps no split by rate).
_ENERGY: dict[int, Callable[[RegisterSnapshot], tuple[int, tuple[int, ...] | None]]] = {
    1: lambda r: (r.active_import_wh, r.active_import_by_rate_wh),
    2: lambda r: (r.active_export_wh, r.active_export_by_rate_wh),
    3: lambda r: (r.reactive_import_varh, None),
    4: lambda r: (r.reactive_export_varh, None),
    9: lambda r: (r.apparent_import_vah, None),
    10: lambda r: (r.apparent_export_vah, None),
    _SUM_OF_ABSOLUTES: lambda r: (
        r.active_import_wh + r.active_export_wh,
        tuple(a + b for a, b in zip(r.active_import_by_rate_wh, r.active_export_by_rate_wh, strict=True)),
    ),
}
# C -> an interval's energy in that channel, for demand.
_INTERVAL_ENERGY: dict[int, Callable[[IntervalRecord], int]] = {
    1: lambda i: i.active_import_wh,
    2: lambda i: i.active_export_wh,
    3: lambda i: i.reactive_import_varh,
    4: lambda i: i.reactive_export_varh,
    9: lambda i: i.apparent_import_vah,
    10: lambda i: i.apparent_export_vah,
}
# Base C (1-20) of an instantaneous quantity -> its total value; powers are split over phases by current.
_POWER: dict[int, Callable[[InstantaneousValues], float]] = {
    1: lambda v: v.active_power_import_w,
    2: lambda v: v.active_power_export_w,
    3: lambda v: max(v.reactive_power_var, 0.0),
    4: lambda v: max(-v.reactive_power_var, 0.0),
    9: lambda v: v.apparent_power_va,
}
_CURRENT, _VOLTAGE, _POWER_FACTOR, _FREQUENCY = 11, 12, 13, 14


def month_start(at: datetime) -> datetime:
    """00:00 UTC on the first of `at`'s month."""
    return at.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def billing_moment(now: datetime, period: int) -> datetime:
    """When billing period `period` (1 = the last one) closed: 00:00 UTC on the first of a month."""
    first = month_start(now)
    months = first.year * 12 + first.month - 1 - (period - 1)
    return first.replace(year=months // 12, month=months % 12 + 1)


def interval_floor(at: datetime) -> datetime:
    """The start of the 15-minute interval holding `at`."""
    return at - (at - _EPOCH) % INTERVAL


class Moment:
    """One moment of a meter, with what its registers read then; each part is computed on first use."""

    __slots__ = ("_instant", "_registers", "at", "model", "record")

    def __init__(self, model: MeterModel, at: datetime, record: IntervalRecord | None = None) -> None:
        self.model = model
        self.at = at
        self.record = record  # the interval that ends at `at`, when a load profile row is being built
        self._registers: RegisterSnapshot | None = None
        self._instant: InstantaneousValues | None = None

    @property
    def installed(self) -> bool:
        """Whether the meter existed then."""
        return self.at >= self.model.start

    @property
    def registers(self) -> RegisterSnapshot:
        """The energy registers then."""
        if self._registers is None:
            self._registers = self.model.registers(self.at)
        return self._registers

    @property
    def instant(self) -> InstantaneousValues:
        """The instantaneous values then."""
        if self._instant is None:
            self._instant = self.model.instantaneous(self.at)
        return self._instant


@dataclass(frozen=True, slots=True)
class Maximum:
    """The highest 15-minute mean power of one channel and rate in a billing month, and when its interval ended."""

    watts: float
    at: datetime


Maxima = dict[tuple[int, int], Maximum]  # (C, rate E) -> maximum


@dataclass(slots=True)
class _Scan:
    start: datetime  # the billing month
    until: datetime  # intervals ending up to here are counted
    maxima: Maxima = field(default_factory=dict)


class DemandBook:
    """Maximum demand of each channel and rate per billing month (IEC 62056-6-1: D = 6), from the load profile.

    A month is scanned interval by interval (a whole month costs ~30 ms) and the scan continues from where it
    stopped, so reading the present maximum again, or a load profile in time order, costs little. Months that are
    over never change: the last few are kept.
    """

    _CLOSED_MONTHS = 13  # a year of monthly billing values plus the one being read

    __slots__ = ("_closed", "_model", "_scan")

    def __init__(self, model: MeterModel) -> None:
        self._model = model
        self._scan: _Scan | None = None
        self._closed: dict[datetime, Maxima] = {}

    def maxima(self, at: datetime) -> Maxima:
        """The maxima of the billing month holding the instant before `at`, over intervals that ended by `at`."""
        start = month_start(at - _TICK)
        until = interval_floor(at)
        closes = until == month_start(start + timedelta(days=32))
        if closes and start in self._closed:
            return self._closed[start]
        scan = self._scan
        if scan is None or scan.start != start or scan.until > until:
            scan = self._scan = _Scan(start, start)
        for record in self._model.intervals(max(scan.until, self._model.start), until):
            _count(scan.maxima, record)
        scan.until = max(scan.until, until)
        if closes:
            while len(self._closed) >= self._CLOSED_MONTHS:
                del self._closed[min(self._closed)]
            self._closed[start] = closed = dict(scan.maxima)
            return closed
        return scan.maxima


def _count(maxima: Maxima, record: IntervalRecord) -> None:
    for channel, energy in _INTERVAL_ENERGY.items():
        watts = energy(record) * _PER_HOUR
        for rate in (0, record.tou_rate):
            best = maxima.get((channel, rate))
            if best is None or watts > best.watts:
                maxima[(channel, rate)] = Maximum(watts, record.end)


def measure(obis: ObisCode, moment: Moment, demand: DemandBook, now: datetime) -> float | Maximum | None:
    """What register `obis` reads at `moment` (a maximum demand comes with its time); None if the model has none.

    Args:
        obis: the register.
        moment: when (a billing period's F moves it back to the end of that period).
        demand: the meter's maximum demand book.
        now: the present, which billing periods count back from.
    """
    if obis.a != _ELECTRICITY or obis.b != 0:
        return None
    if obis.f != _CURRENT_VALUE:
        if not 1 <= obis.f <= _LAST_BILLING_PERIOD or obis.d == _INSTANTANEOUS:
            return None
        moment = Moment(moment.model, billing_moment(now, obis.f))
    if not moment.installed:
        return None
    reader = _READERS.get(obis.d)
    return None if reader is None else reader(obis.c, obis.e, moment, demand)


def _energy(channel: int, rate: int, moment: Moment, demand: DemandBook) -> float | None:
    pick = _ENERGY.get(channel)
    if pick is None:
        return None
    total, by_rate = pick(moment.registers)
    if rate == 0:
        return total
    return by_rate[rate - 1] if by_rate is not None and 1 <= rate <= len(by_rate) else None


def _instantaneous(channel: int, rate: int, moment: Moment, demand: DemandBook) -> float | None:
    if rate != 0:
        return None
    values = moment.instant
    if channel == _NEUTRAL_CURRENT:
        return values.current_neutral_a
    base, phase = (channel - 1) % _PHASE_STEP + 1, (channel - 1) // _PHASE_STEP  # phase 0: total / any phase
    if phase > len(values.voltage_v):
        return None
    if base == _FREQUENCY:
        return values.frequency_hz if phase == 0 else None
    if base == _POWER_FACTOR:
        return values.power_factor  # the model has one power factor for all phases
    if base in (_CURRENT, _VOLTAGE):
        per_phase = values.current_a if base == _CURRENT else values.voltage_v
        return per_phase[max(phase, 1) - 1]
    power = _POWER.get(base)
    if power is None:
        return None
    total = power(values)
    if phase == 0:
        return total
    currents = sum(values.current_a)
    return total * values.current_a[phase - 1] / currents if currents > 0.0 else 0.0


def _average_demand(channel: int, rate: int, moment: Moment, demand: DemandBook) -> float | None:
    # The running 15-minute period's mean power so far (Blue Book 4.3.4, current_average_value); right at a
    # period's start, the period that just ended.
    start = interval_floor(moment.at)
    if start == moment.at:
        start -= INTERVAL
    if rate != 0 or channel not in _ENERGY or start < moment.model.start:
        return None
    then = _energy(channel, 0, Moment(moment.model, start), demand)
    now = _energy(channel, 0, moment, demand)
    if then is None or now is None:
        return None
    return (now - then) * (timedelta(hours=1) / (moment.at - start))


def _maximum_demand(channel: int, rate: int, moment: Moment, demand: DemandBook) -> Maximum | None:
    if channel not in _INTERVAL_ENERGY or not 0 <= rate <= 4:
        return None
    found = demand.maxima(moment.at).get((channel, rate))
    return found if found is not None else Maximum(0.0, month_start(moment.at - _TICK))


_READERS: dict[int, Callable[[int, int, Moment, DemandBook], float | Maximum | None]] = {
    CUMULATIVE: _energy,
    _INSTANTANEOUS: _instantaneous,
    _AVERAGE_DEMAND: _average_demand,
    _MAXIMUM_DEMAND: _maximum_demand,
}
