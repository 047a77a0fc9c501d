"""The energy registers consumption is computed from, and how one register's readings become hourly advances.

A reading belongs to the hour it closes, (hour, hour + 1 h]: IEC 62056 load profiles stamp each capture
period at its end, so a register read at 01:00 closes the hour 00:00-01:00. An hour's advance runs from the
last reading before it (its anchor) to its own last reading, so summed hours telescope to exact totals.
Rollover and reset rules follow the usual meter-data practice (MDM validation, estimation and editing): a
drop from the top of the register's range to its bottom is a wrap; any other drop is a reset (a replaced
or cleared meter) that counts from the new base and marks the hour incomplete, since what was used
between the two meters is unknown. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum, StrEnum

from hes.obis.codes import ObisCode

__all__ = [
    "ENERGY_REGISTERS",
    "Anchor",
    "Direction",
    "EnergyRegister",
    "HourRow",
    "RegisterScale",
    "Step",
    "hour_index",
    "hour_rows",
    "hour_start",
    "kwh_per_unit",
    "start_index",
    "step",
]


class Direction(StrEnum):
    """Which way the energy flowed: delivered to the customer (import) or fed back to the grid (export)."""

    IMPORT = "import"
    EXPORT = "export"


@dataclass(frozen=True, slots=True)
class EnergyRegister:
    """A cumulative energy register that consumption is computed from.

    `required`: every meter in service is expected to report it, so a meter that sent nothing makes its area's
    bucket incomplete; other registers (export) count only for the meters that have them.
    """

    obis: ObisCode
    direction: Direction
    required: bool


# One register per direction (totals, not tariff registers: 1.8.1 and 1.8.0 together would count twice).
ENERGY_REGISTERS: tuple[EnergyRegister, ...] = (
    EnergyRegister(ObisCode(1, 0, 1, 8, 0, 255), Direction.IMPORT, required=True),
    EnergyRegister(ObisCode(1, 0, 2, 8, 0, 255), Direction.EXPORT, required=False),
)

# kWh per unit of a register, by the unit obis_codes records (the brand profiles declare Blue Book unit 30, Wh).
_KWH_PER_UNIT = {"Wh": 0.001, "kWh": 1.0, "MWh": 1000.0}
DEFAULT_UNIT = "Wh"
# Where registers wrap to zero, in kWh: a 6- or 7-digit kWh display, and a double-long-unsigned (uint32)
# count of Wh at scaler 0 or 1 (Hexing and Hexcell profiles).
WRAP_POINTS_KWH = (1e6, 2**32 / 1000, 1e7, 2**32 / 100)
# A drop is a wrap only from the top tenth of a wrap point's range into its bottom tenth.
WRAP_MARGIN = 0.1
# A drop this small (kWh) is read jitter (two channels rounding one register differently), not a reset.
JITTER_KWH = 0.01
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HOUR = timedelta(hours=1)
_SECONDS_PER_HOUR = 3_600
_MICROSECONDS_PER_HOUR = 3_600_000_000


def kwh_per_unit(unit: str | None) -> float:
    """kWh in one unit of a register (`None` or an unknown unit: Wh, as the brand profiles declare)."""
    return _KWH_PER_UNIT.get(unit or DEFAULT_UNIT, _KWH_PER_UNIT[DEFAULT_UNIT])


@dataclass(frozen=True, slots=True)
class RegisterScale:
    """A register's wrap points and jitter tolerance, in its own unit."""

    wrap_points: tuple[float, ...]
    jitter: float

    @classmethod
    def for_unit(cls, unit: str | None) -> RegisterScale:
        """The scale of a register recorded in `unit` (Wh, kWh, MWh)."""
        per_unit = kwh_per_unit(unit)
        return cls(tuple(point / per_unit for point in WRAP_POINTS_KWH), JITTER_KWH / per_unit)


class Step(IntEnum):
    """What happened between two consecutive readings of a register."""

    ADVANCE = 0
    JITTER = 1
    ROLLOVER = 2
    RESET = 3


def step(base: float, value: float, scale: RegisterScale) -> tuple[float, float, Step]:
    """The advance from `base` to `value`, the base to continue from, and what kind of step it was."""
    if value >= base:
        return value - base, value, Step.ADVANCE
    if base - value <= scale.jitter:
        return 0.0, base, Step.JITTER  # keep the higher base: the next reading must not count the dip again
    for point in scale.wrap_points:
        if base <= point:
            if base >= point * (1 - WRAP_MARGIN) and value <= point * WRAP_MARGIN:
                return point - base + value, value, Step.ROLLOVER
            break
    return 0.0, value, Step.RESET


def hour_index(moment: datetime) -> int:
    """The hour a reading at `moment` closes, as hours since 1970: (start, start + 1 h] holds `moment`."""
    if not moment.microsecond:
        # Whole seconds (nearly every reading): timestamp() is exact for them and 4x cheaper than timedelta maths.
        return (int(moment.timestamp()) - 1) // _SECONDS_PER_HOUR
    microseconds = (moment - _EPOCH) // timedelta(microseconds=1)
    return (microseconds - 1) // _MICROSECONDS_PER_HOUR


def start_index(start: datetime) -> int:
    """The index of the hour that starts at `start` (an hour boundary)."""
    return (start - _EPOCH) // _HOUR


def hour_start(index: int) -> datetime:
    """The start of the hour with this index (UTC)."""
    return _EPOCH + index * _HOUR


@dataclass(frozen=True, slots=True)
class Anchor:
    """The register's value at the end of the hour before a rebuilt range (the base its first reading steps from)."""

    hour: int
    value: float


@dataclass(frozen=True, slots=True)
class HourRow:
    """One hour of one register: its readings' first value, the base it ends on, and its advance since the anchor.

    `complete`: the reading before this hour's first lies in the hour just before (no gap), and no reset
    happened; only then is `delta` exactly the energy of this hour.
    """

    hour: int
    first_value: float
    last_value: float
    delta: float
    samples: int
    resets: int
    rollovers: int
    complete: bool


def hour_rows(anchor: Anchor | None, readings: Iterable[tuple[datetime, float]], scale: RegisterScale) -> list[HourRow]:
    """Hour rows from one register's readings in time order, stepping on from `anchor` (None: none before).

    Hours without readings get no row: a gap stays a gap, and the next hour's advance spans it (complete False).
    """
    rows: list[HourRow] = []
    base = anchor.value if anchor is not None else None
    previous_hour = anchor.hour if anchor is not None else None
    current: int | None = None
    first = delta = 0.0
    samples = resets = rollovers = 0
    linked = False
    for moment, value in readings:
        hour = hour_index(moment)
        if hour != current:
            if current is not None and base is not None:
                rows.append(HourRow(current, first, base, delta, samples, resets, rollovers, linked and not resets))
                previous_hour = current
            current, first, delta, samples, resets, rollovers = hour, value, 0.0, 0, 0, 0
            linked = previous_hour is not None and previous_hour == hour - 1
        samples += 1
        if base is None:
            base = value  # the first reading ever: nothing before it to step from
            continue
        advance, base, kind = step(base, value, scale)
        delta += advance
        resets += kind is Step.RESET
        rollovers += kind is Step.ROLLOVER
    if current is not None and base is not None:
        rows.append(HourRow(current, first, base, delta, samples, resets, rollovers, linked and not resets))
    return rows
