"""Load shapes of customer classes, seasonality, a clear-sky solar shape and the time-of-use table.

The shapes are compact hourly tables written here rather than `demandlib`'s BDEW standard load profiles:
demandlib pulls pandas into the runtime, builds whole years as DataFrames (far too slow per meter), and
BDEW's tables describe German customers. What the simulator needs is the character of H0 (household:
morning bump, midday plateau, evening peak), G0 (business: working hours on weekdays, little at weekends)
and a small two-shift industry, for weekdays, Saturdays and Sundays. Each hourly table is interpolated to
96 quarter hours and normalised so that an average week has a mean daily energy of exactly 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, time
from enum import IntEnum, StrEnum
from functools import lru_cache

from hes.simulator.physics.timeline import INTERVALS_PER_DAY


class ProfileClass(StrEnum):
    """Customer class of a meter; the same names as the HES's customer types."""

    RESIDENTIAL = "residential"
    COMMERCIAL = "commercial"
    INDUSTRIAL = "industrial"


class DayType(IntEnum):
    """Which table of a class a date uses (public holidays are not modelled)."""

    WEEKDAY = 0
    SATURDAY = 1
    SUNDAY = 2


def day_type(calendar_date: date) -> DayType:
    """Weekday, Saturday or Sunday."""
    weekday = calendar_date.weekday()
    return DayType.SATURDAY if weekday == 5 else DayType.SUNDAY if weekday == 6 else DayType.WEEKDAY


Hourly = tuple[float, ...]

# Relative power per clock hour 00..23 (only the shape matters; tables are normalised below).
# Household (after BDEW H0): low night, breakfast bump, midday plateau, evening peak around 19-21 h;
# weekends get up later and cook at noon.
_RESIDENTIAL: tuple[Hourly, Hourly, Hourly] = (
    (0.55, 0.45, 0.40, 0.38, 0.38, 0.45, 0.75, 1.05, 1.00, 0.85, 0.80, 0.85,
     0.95, 0.90, 0.80, 0.80, 0.90, 1.15, 1.50, 1.75, 1.80, 1.60, 1.20, 0.80),
    (0.65, 0.50, 0.42, 0.40, 0.38, 0.40, 0.50, 0.75, 1.00, 1.20, 1.25, 1.30,
     1.35, 1.20, 1.05, 1.00, 1.05, 1.25, 1.55, 1.75, 1.75, 1.60, 1.30, 0.90),
    (0.70, 0.55, 0.45, 0.40, 0.38, 0.38, 0.45, 0.60, 0.90, 1.20, 1.35, 1.50,
     1.60, 1.40, 1.15, 1.05, 1.05, 1.25, 1.55, 1.70, 1.65, 1.45, 1.10, 0.75),
)  # fmt: skip
# Shops and offices (after BDEW G0): base load at night, working hours 8-18 h on weekdays,
# a short Saturday morning, closed on Sunday.
_COMMERCIAL: tuple[Hourly, Hourly, Hourly] = (
    (0.30, 0.30, 0.30, 0.30, 0.30, 0.32, 0.45, 0.85, 1.45, 1.75, 1.85, 1.90,
     1.80, 1.80, 1.85, 1.85, 1.75, 1.50, 1.10, 0.70, 0.50, 0.40, 0.33, 0.31),
    (0.30, 0.30, 0.30, 0.30, 0.30, 0.30, 0.32, 0.45, 0.90, 1.25, 1.35, 1.35,
     1.30, 1.10, 0.80, 0.60, 0.50, 0.45, 0.38, 0.34, 0.32, 0.31, 0.30, 0.30),
    (0.30, 0.30, 0.30, 0.30, 0.30, 0.30, 0.30, 0.31, 0.32, 0.34, 0.35, 0.36,
     0.36, 0.35, 0.34, 0.33, 0.32, 0.32, 0.32, 0.31, 0.31, 0.30, 0.30, 0.30),
)  # fmt: skip
# Small two-shift industry: 06-22 h on weekdays with a lunch dip, one morning shift on Saturday,
# only base load (compressors, cooling, lighting) on Sunday.
_INDUSTRIAL: tuple[Hourly, Hourly, Hourly] = (
    (0.45, 0.45, 0.45, 0.45, 0.45, 0.60, 1.30, 1.45, 1.50, 1.50, 1.50, 1.45,
     1.30, 1.45, 1.45, 1.40, 1.40, 1.35, 1.30, 1.30, 1.25, 1.15, 0.60, 0.50),
    (0.45, 0.45, 0.45, 0.45, 0.45, 0.50, 0.90, 1.10, 1.10, 1.10, 1.10, 1.10,
     1.05, 0.90, 0.55, 0.47, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45),
    (0.42, 0.42, 0.42, 0.42, 0.42, 0.42, 0.42, 0.42, 0.43, 0.43, 0.43, 0.43,
     0.43, 0.43, 0.43, 0.43, 0.42, 0.42, 0.42, 0.42, 0.42, 0.42, 0.42, 0.42),
)  # fmt: skip


def _quarter_hours(hourly: Hourly) -> list[float]:
    """Linear interpolation between hour midpoints (circular), sampled at quarter-hour midpoints.

    Each hour value gets weights 2 + 2 across its neighbouring samples, so the mean is kept exactly.
    """
    values: list[float] = []
    for index in range(INTERVALS_PER_DAY):
        position = (index + 0.5) / 4.0 - 0.5  # in hours, measured from the first hour's midpoint
        low = math.floor(position)
        fraction = position - low
        values.append(hourly[low % 24] * (1.0 - fraction) + hourly[(low + 1) % 24] * fraction)
    return values


@dataclass(frozen=True, slots=True)
class ClassTraits:
    """Everything that shapes one customer class: 96-value day tables and how much a day may vary."""

    shapes: tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]
    """Per day type, the fraction of a mean day's energy drawn in each quarter hour (a week averages 1)."""
    seasonal_amplitude: float
    """Relative swing of consumption over the year (heating or cooling), as a cosine."""
    seasonal_peak_day: int
    """Day of the year with the highest consumption."""
    day_sigma: float
    """Log-normal spread of a whole day's energy (weather, guests, overtime)."""
    interval_sigma: float
    """Log-normal spread of one quarter hour (appliances switching)."""
    interval_correlation: float
    """AR(1) coefficient between neighbouring quarter hours: loads run for a while."""
    power_factor_low: float
    """Power factor at light load (standby electronics, idle motors)."""
    power_factor_high: float
    """Power factor at full load."""
    leading_below: float
    """Load ratio (to the day's mean) under which the power factor turns leading: an over-compensating
    capacitor bank at night exports reactive energy. 0 disables it."""

    def season(self, day_of_year: int) -> float:
        """Consumption factor of a day of the year (1 on average)."""
        angle = 2.0 * math.pi * (day_of_year - self.seasonal_peak_day) / 365.25
        return 1.0 + self.seasonal_amplitude * math.cos(angle)


def _shapes(tables: tuple[Hourly, Hourly, Hourly]) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
    weekday, saturday, sunday = (_quarter_hours(table) for table in tables)
    week_mean = (5 * sum(weekday) + sum(saturday) + sum(sunday)) / 7.0
    return (
        tuple(value / week_mean for value in weekday),
        tuple(value / week_mean for value in saturday),
        tuple(value / week_mean for value in sunday),
    )


TRAITS: dict[ProfileClass, ClassTraits] = {
    ProfileClass.RESIDENTIAL: ClassTraits(
        shapes=_shapes(_RESIDENTIAL),
        seasonal_amplitude=0.15,
        seasonal_peak_day=15,  # mid-January: lighting and heating
        day_sigma=0.12,
        interval_sigma=0.30,
        interval_correlation=0.6,
        power_factor_low=0.86,
        power_factor_high=0.98,
        leading_below=0.0,
    ),
    ProfileClass.COMMERCIAL: ClassTraits(
        shapes=_shapes(_COMMERCIAL),
        seasonal_amplitude=0.10,
        seasonal_peak_day=200,  # July: air conditioning
        day_sigma=0.06,
        interval_sigma=0.12,
        interval_correlation=0.8,
        power_factor_low=0.84,
        power_factor_high=0.94,
        leading_below=0.0,
    ),
    ProfileClass.INDUSTRIAL: ClassTraits(
        shapes=_shapes(_INDUSTRIAL),
        seasonal_amplitude=0.04,
        seasonal_peak_day=15,
        day_sigma=0.05,
        interval_sigma=0.10,
        interval_correlation=0.85,
        power_factor_low=0.90,
        power_factor_high=0.97,
        leading_below=0.5,
    ),
}


def day_of_year(calendar_date: date) -> int:
    """1 for 1 January."""
    return calendar_date.toordinal() - date(calendar_date.year, 1, 1).toordinal() + 1


@lru_cache(maxsize=366)
def solar_shape(day_of_year: int) -> tuple[float, ...]:
    """Clear-sky PV output per quarter hour in kWh per kWp installed (mid-latitude, solar noon at 12:00).

    The day is longer and the sun higher around 21 June: half a day of 6 +/- 1.5 h of sunshine and a
    peak of 0.85 +/- 0.15 kW per kWp.
    """
    seasonal = math.cos(2.0 * math.pi * (day_of_year - 172) / 365.25)
    half_day = 6.0 + 1.5 * seasonal
    peak_kw = 0.85 + 0.15 * seasonal
    values: list[float] = []
    for index in range(INTERVALS_PER_DAY):
        hour = (index + 0.5) / 4.0
        since_sunrise = hour - (12.0 - half_day)
        if 0.0 < since_sunrise < 2.0 * half_day:
            values.append(peak_kw * math.sin(math.pi * since_sunrise / (2.0 * half_day)) ** 1.5 / 4.0)
        else:
            values.append(0.0)
    return tuple(values)


@dataclass(frozen=True, slots=True)
class TouTable:
    """A daily time-of-use table: at each switch time (a quarter-hour boundary) a rate 1-4 starts."""

    switches: tuple[tuple[time, int], ...]

    def __post_init__(self) -> None:
        if not self.switches or self.switches[0][0] != time(0, 0):
            raise ValueError("a TOU table starts with a switch at 00:00")
        previous = -1
        for switch_time, rate in self.switches:
            minute = switch_time.hour * 60 + switch_time.minute
            if switch_time.second or switch_time.microsecond or minute % 15:
                raise ValueError(f"TOU switch {switch_time.isoformat()} is not on a quarter-hour boundary")
            if minute <= previous:
                raise ValueError("TOU switch times must increase")
            if not 1 <= rate <= 4:
                raise ValueError(f"TOU rate {rate} is not one of 1-4")
            previous = minute

    @property
    def blocks(self) -> tuple[tuple[int, int, int], ...]:
        """(first interval, end interval exclusive, rate) for each switch of the day."""
        return _tou_layout(self.switches)[0]

    @property
    def rates(self) -> tuple[int, ...]:
        """The rate (1-4) of each of the day's 96 quarter hours."""
        return _tou_layout(self.switches)[1]


@lru_cache(maxsize=64)
def _tou_layout(switches: tuple[tuple[time, int], ...]) -> tuple[tuple[tuple[int, int, int], ...], tuple[int, ...]]:
    """Blocks and per-interval rates of a TOU table (cached: a fleet shares a handful of tables)."""
    starts = [(t.hour * 60 + t.minute) // 15 for t, _ in switches]
    ends = [*starts[1:], INTERVALS_PER_DAY]
    blocks = tuple((start, end, rate) for start, end, (_, rate) in zip(starts, ends, switches, strict=True))
    rates = tuple(rate for start, end, rate in blocks for _ in range(start, end))
    return blocks, rates


DEFAULT_TOU = TouTable(((time(0), 1), (time(6), 2), (time(17), 3), (time(22), 4)))
"""Rate 1 night 00-06, rate 2 day 06-17, rate 3 peak 17-22, rate 4 evening 22-24."""
