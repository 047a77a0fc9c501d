"""Voltage, current and frequency of a meter: consistent with its power, its feeder and the grid.

Voltage is 230 V nominal, shifted per meter (distance from the transformer), lower at the evening peak
when feeders are loaded, with a little noise; sags and swells replace it while they last and an outage
takes it to zero. Frequency belongs to the grid, not the meter: every meter reads the same value at the
same second (50 Hz within a few hundredths, well inside the EN 50160 band of +/- 1 %).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from hes.simulator.physics.conditions import DayConditions
from hes.simulator.physics.ledger import MeterConstants
from hes.simulator.physics.profiles import TRAITS, ProfileClass
from hes.simulator.physics.randomness import Stream, indexed, symmetric
from hes.simulator.physics.timeline import DAY_SECONDS, INTERVAL_SECONDS, INTERVALS_PER_DAY, overlap

NOMINAL_VOLTAGE = 230.0
NOMINAL_FREQUENCY = 50.0
_VOLTAGE_NOISE = 0.006  # per unit, interval to interval
_INSTANT_VOLTAGE_NOISE = 0.002  # per unit, second to second
_FEEDER_DROP = 0.025  # per unit drop for each unit of feeder loading above its mean

# How loaded the local feeder is through the day (mean 1): households dominate a low-voltage feeder.
_household = TRAITS[ProfileClass.RESIDENTIAL].shapes[0]
_FEEDER_LOADING = tuple(value * INTERVALS_PER_DAY / sum(_household) for value in _household)


def normal_voltage(meter: MeterConstants, day: int, index: int, phase: int) -> float:
    """The undisturbed mean voltage of a phase (1-3) over interval `index` of a day."""
    # One 64-bit draw per interval; each phase takes its own 21 bits of it as a uniform in [-1, 1).
    bits = indexed(meter.voltage_key, day * INTERVALS_PER_DAY + index) >> (21 * (phase - 1)) & 0x1FFFFF
    noise = _VOLTAGE_NOISE * (bits * (2.0 / 0x200000) - 1.0)
    drop = _FEEDER_DROP * (_FEEDER_LOADING[index] - 1.0)
    return NOMINAL_VOLTAGE * (1.0 + meter.voltage_offsets[phase - 1] - drop + noise)


def interval_voltages(meter: MeterConstants, conditions: DayConditions, index: int) -> tuple[float, ...]:
    """Per phase, the mean voltage over the supplied part of an interval (0 if never supplied)."""
    if not conditions.no_supply and not conditions.voltage:  # a quiet day: nothing but the feeder
        day = conditions.day
        return tuple(round(normal_voltage(meter, day, index, phase), 1) for phase in range(1, meter.phases + 1))
    low = conditions.day * DAY_SECONDS + index * INTERVAL_SECONDS
    high = low + INTERVAL_SECONDS
    supplied = INTERVAL_SECONDS - overlap(conditions.no_supply, low, high)
    if supplied <= 0:
        return (0.0,) * meter.phases
    voltages: list[float] = []
    for phase in range(1, meter.phases + 1):
        disturbed = 0
        weighted = 0.0
        for episode in conditions.voltage:
            if phase not in episode.phases or episode.end <= low or episode.start >= high:
                continue
            start, end = max(low, episode.start), min(high, episode.end)
            seconds = end - start - overlap(conditions.no_supply, start, end)
            disturbed += seconds
            weighted += seconds * NOMINAL_VOLTAGE * episode.level
        disturbed = min(disturbed, supplied)
        undisturbed = (supplied - disturbed) * normal_voltage(meter, conditions.day, index, phase)
        voltages.append(round((undisturbed + weighted) / supplied, 1))
    return tuple(voltages)


def instant_voltages(meter: MeterConstants, conditions: DayConditions, second: int) -> tuple[float, ...]:
    """Per phase, the voltage at one second (0 without supply)."""
    if any(start <= second < end for start, end in conditions.no_supply):
        return (0.0,) * meter.phases
    index = (second - conditions.day * DAY_SECONDS) // INTERVAL_SECONDS
    voltages: list[float] = []
    for phase in range(1, meter.phases + 1):
        level = None
        for episode in conditions.voltage:
            if phase in episode.phases and episode.start <= second < episode.end:
                level = NOMINAL_VOLTAGE * episode.level
        if level is None:
            jitter = _INSTANT_VOLTAGE_NOISE * symmetric(meter.seed, Stream.INSTANT, second, phase)
            level = normal_voltage(meter, conditions.day, index, phase) * (1.0 + jitter)
        voltages.append(round(level, 1))
    return tuple(voltages)


def phase_currents(apparent_va: float, shares: Sequence[float], voltages: Sequence[float]) -> tuple[float, ...]:
    """Per phase current (A) carrying a share of the apparent power at that phase's voltage."""
    if len(shares) == 1:  # the common single-phase case, without the generator's overhead
        return (round(apparent_va / voltages[0], 3) if voltages[0] > 0.0 else 0.0,)
    return tuple(
        round(apparent_va * share / voltage, 3) if voltage > 0.0 else 0.0
        for share, voltage in zip(shares, voltages, strict=True)
    )


def neutral_current(currents: Sequence[float]) -> float:
    """Neutral current: the phase current itself on a single-phase meter, the phasor sum of three phase
    currents 120 degrees apart (same power factor assumed) on a three-phase one."""
    if len(currents) == 1:
        return currents[0]
    a, b, c = currents
    return round(math.sqrt(max(0.0, a * a + b * b + c * c - a * b - b * c - c * a)), 3)


def grid_frequency(second: int) -> float:
    """The grid frequency at one second: a slow wander (5-minute steps) plus a fast one (10-second steps)."""
    slow = 0.03 * symmetric(Stream.FREQUENCY, second // 300)
    fast = 0.015 * symmetric(Stream.FREQUENCY, second // 10, 1)
    return round(NOMINAL_FREQUENCY + slow + fast, 2)
