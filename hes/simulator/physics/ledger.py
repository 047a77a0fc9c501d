"""One meter's day: quarter-hour load, PV and reactive power, and the running energy of each register.

A day is computed in one pass from its seed-derived random draws and its conditions. The energy of a
register is tracked exactly (a float running sum from 00:00) and reported as its floor in whole Wh, so the
register at any time equals its value at midnight plus floor(running sum): an interval's energy is the
difference of two floors, and the intervals of a day add up to the register's advance with no rounding
drift. Within an interval the energy accrues linearly over the seconds the register is counting, which
depends only on what happened before: a relay opened later never changes an earlier reading.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass

from hes.simulator.physics.conditions import DayConditions
from hes.simulator.physics.profiles import ClassTraits, day_of_year, day_type, solar_shape
from hes.simulator.physics.randomness import Stream, generator, normals
from hes.simulator.physics.timeline import DAY_SECONDS, INTERVAL_SECONDS, INTERVALS_PER_DAY, day_date, overlap

CHANNELS = 6
"""Energy channels in this order: active import, active export, reactive import, reactive export,
apparent import, apparent export."""
_ONES: tuple[float, ...] = (1.0,) * INTERVALS_PER_DAY


@dataclass(frozen=True, slots=True)
class MeterConstants:
    """What does not change over a meter's life: its class, size, wiring and seed-derived character."""

    seed: int
    traits: ClassTraits
    daily_wh: float
    """Mean daily consumption in Wh."""
    pv_kwp: float
    """Installed PV peak power (0: no PV, the meter never exports)."""
    phase_shares: tuple[float, ...]
    """How the load splits over the phases (sums to 1)."""
    voltage_offsets: tuple[float, ...]
    """Per phase, how far this point of the feeder sits from nominal (per unit)."""
    voltage_key: int
    """Key of the interval-to-interval voltage noise stream."""

    @property
    def phases(self) -> int:
        """1 or 3."""
        return len(self.phase_shares)


def channel_rates(load: float, measured: float, pv: float, tan_phi: float) -> tuple[float, ...]:
    """The six channels' energy over a whole interval, from the true load, the fraction the meter sees,
    the PV yield (all in Wh) and tan(phi) of the load (negative: capacitive)."""
    seen = load * measured
    net = seen - pv
    reactive = seen * tan_phi
    apparent = math.sqrt(net * net + reactive * reactive)
    reactive_import, reactive_export = (reactive, 0.0) if reactive >= 0.0 else (0.0, -reactive)
    if net >= 0.0:
        return net, 0.0, reactive_import, reactive_export, apparent, 0.0
    return 0.0, -net, reactive_import, reactive_export, 0.0, apparent


class DayLedger:
    """A computed day: per-interval inputs and, per channel, the running energy at each interval edge."""

    __slots__ = ("conditions", "cumulative", "day", "load", "measured", "pv", "tan_phi", "weight")

    def __init__(
        self,
        day: int,
        conditions: DayConditions,
        load: array[float],
        pv: array[float] | tuple[float, ...],
        tan_phi: array[float],
        measured: tuple[float, ...],
        weight: tuple[float, ...],
        cumulative: tuple[array[float], ...],
    ) -> None:
        self.day = day
        self.conditions = conditions
        self.load = load
        """True load of each interval in Wh (what the customer draws, seen by the meter or not)."""
        self.pv = pv
        self.tan_phi = tan_phi
        self.measured = measured
        """Fraction of the load the meter sees (theft and bypass lower it)."""
        self.weight = weight
        """Fraction of each interval during which the registers count."""
        self.cumulative = cumulative
        """Per channel, 97 running sums: cumulative[c][i] is the energy from 00:00 to the start of interval i."""

    def rates(self, index: int) -> tuple[float, ...]:
        """The six channels' energy of interval `index` had the registers counted all of it."""
        return channel_rates(self.load[index], self.measured[index], self.pv[index], self.tan_phi[index])


def _measured(conditions: DayConditions) -> tuple[float, ...]:
    if not conditions.measured_changes:
        return _ONES
    day_start = conditions.day * DAY_SECONDS
    values: list[float] = []
    for index in range(INTERVALS_PER_DAY):
        low = day_start + index * INTERVAL_SECONDS
        hidden = 0.0
        for bypass in conditions.bypass:
            seconds = overlap(((bypass.start, bypass.end),), low, low + INTERVAL_SECONDS)
            hidden += (1.0 - bypass.level) * seconds / INTERVAL_SECONDS
        values.append(conditions.theft_factor * max(0.0, 1.0 - hidden))
    return tuple(values)


def _weights(conditions: DayConditions) -> tuple[float, ...]:
    if not conditions.energy_off:
        return _ONES
    day_start = conditions.day * DAY_SECONDS
    return tuple(
        (INTERVAL_SECONDS - overlap(conditions.energy_off, low, low + INTERVAL_SECONDS)) / INTERVAL_SECONDS
        for low in range(day_start, day_start + DAY_SECONDS, INTERVAL_SECONDS)
    )


def _pv(meter: MeterConstants, day: int, day_of_year_: int) -> array[float] | tuple[float, ...]:
    if meter.pv_kwp <= 0.0:
        return (0.0,) * INTERVALS_PER_DAY
    source = generator(meter.seed, day, Stream.SOLAR)
    draw = source.random
    # Clear days are more common than overcast ones; clouds also flicker within a day.
    clearness = 0.3 + 0.7 * math.sqrt(draw())
    flicker = 0.6 * (1.0 - clearness)
    scale = meter.pv_kwp * 1000.0 * clearness
    return array("d", (scale * clear * (1.0 - flicker * draw()) for clear in solar_shape(day_of_year_)))


def compute_day(meter: MeterConstants, day: int, conditions: DayConditions) -> DayLedger:
    """Compute a day of a meter: a pure function of its constants, the day and the day's conditions."""
    calendar = day_date(day)
    traits = meter.traits
    shape = traits.shapes[day_type(calendar)]
    doy = day_of_year(calendar)
    source = generator(meter.seed, day, Stream.LOAD)
    draws = normals(source, INTERVALS_PER_DAY + 2)
    day_sigma = traits.day_sigma
    day_wh = meter.daily_wh * traits.season(doy) * math.exp(day_sigma * draws[0] - 0.5 * day_sigma * day_sigma)
    sigma = traits.interval_sigma
    bias = -0.5 * sigma * sigma  # keeps the log-normal noise's mean at 1
    correlation = traits.interval_correlation
    innovation = math.sqrt(1.0 - correlation * correlation)
    pf_low = traits.power_factor_low
    pf_span = traits.power_factor_high - pf_low
    leading_below = traits.leading_below
    mean_share = sum(shape) / INTERVALS_PER_DAY
    draw = source.random
    exp, sqrt = math.exp, math.sqrt

    load = array("d", bytes(8 * INTERVALS_PER_DAY))
    tan_phi = array("d", bytes(8 * INTERVALS_PER_DAY))
    state = draws[1]
    for index in range(INTERVALS_PER_DAY):
        state = correlation * state + innovation * draws[index + 2]
        share = shape[index]
        load[index] = day_wh * share * exp(sigma * state + bias)
        ratio = share / mean_share
        power_factor = pf_low + pf_span * min(1.0, ratio / 1.5) + 0.02 * (draw() - 0.5)
        tangent = sqrt(1.0 / (power_factor * power_factor) - 1.0)
        tan_phi[index] = -tangent if ratio < leading_below else tangent

    pv = _pv(meter, day, doy)
    measured = _measured(conditions)
    weight = _weights(conditions)
    cumulative = tuple(array("d", bytes(8 * (INTERVALS_PER_DAY + 1))) for _ in range(CHANNELS))
    c0, c1, c2, c3, c4, c5 = cumulative
    s0 = s1 = s2 = s3 = s4 = s5 = 0.0
    for index in range(INTERVALS_PER_DAY):
        r0, r1, r2, r3, r4, r5 = channel_rates(load[index], measured[index], pv[index], tan_phi[index])
        w = weight[index]
        # Same expression as a mid-interval read (rate * counted fraction) so both agree to the bit.
        s0 += r0 * w
        s1 += r1 * w
        s2 += r2 * w
        s3 += r3 * w
        s4 += r4 * w
        s5 += r5 * w
        after = index + 1
        c0[after], c1[after], c2[after], c3[after], c4[after], c5[after] = s0, s1, s2, s3, s4, s5
    return DayLedger(day, conditions, load, pv, tan_phi, measured, weight, cumulative)
