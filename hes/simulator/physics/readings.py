"""Turn a computed day into what a meter reports: load-profile intervals and instantaneous values.

Energies come straight from the day's running sums (so they add up to the registers); voltages, currents
and power factor come from the same load, so an interval's current matches its energy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from hes.simulator.physics.conditions import Episode, EpisodeKind
from hes.simulator.physics.electrical import (
    grid_frequency,
    instant_voltages,
    interval_voltages,
    neutral_current,
    phase_currents,
)
from hes.simulator.physics.events import TamperFlag
from hes.simulator.physics.ledger import DayLedger, MeterConstants
from hes.simulator.physics.randomness import Stream, symmetric
from hes.simulator.physics.records import InstantaneousValues, IntervalRecord
from hes.simulator.physics.timeline import DAY_SECONDS, INTERVAL, INTERVAL_SECONDS, covers, overlap, to_datetime

_TAMPER_FLAG = {
    EpisodeKind.METER_COVER: TamperFlag.METER_COVER_OPEN,
    EpisodeKind.TERMINAL_COVER: TamperFlag.TERMINAL_COVER_OPEN,
    EpisodeKind.MAGNETIC: TamperFlag.MAGNETIC_FIELD,
    EpisodeKind.NEUTRAL: TamperFlag.NEUTRAL_DISTURBANCE,
    EpisodeKind.BYPASS: TamperFlag.PHASE_NEUTRAL_MISMATCH,
}
_INSTANT_LOAD_JITTER = 0.04  # second-to-second wobble of the load around its interval mean


def tamper_flags(episodes: Sequence[Episode], second: int) -> TamperFlag:
    """The tamper status word at a second: the tamper episodes (and bypass) going on then."""
    flags = TamperFlag.NONE
    for episode in episodes:
        if episode.kind in _TAMPER_FLAG and episode.start <= second < episode.end:
            flags |= _TAMPER_FLAG[episode.kind]
    return flags


def _bypass_neutral(load_wh: float, theft: float, pv_wh: float, tan_phi: float, scale: float, volts: float) -> float:
    # The bridged phase carries the load past the meter, but it returns through the neutral.
    true_load = load_wh * theft
    return phase_currents(math.hypot(true_load - pv_wh, true_load * tan_phi) * scale, (1.0,), (volts,))[0]


def interval_record(
    meter: MeterConstants, ledger: DayLedger, index: int, rate: int, start: datetime | None = None
) -> IntervalRecord:
    """Interval `index` (0-95) of a computed day; `start` saves building its datetime again."""
    c0, c1, c2, c3, c4, c5 = ledger.cumulative
    after = index + 1
    floor = math.floor
    conditions = ledger.conditions
    low = ledger.day * DAY_SECONDS + index * INTERVAL_SECONDS
    high = low + INTERVAL_SECONDS
    off = overlap(conditions.power_off, low, high) if conditions.power_off else 0
    powered = 4.0 * (INTERVAL_SECONDS - off) / INTERVAL_SECONDS  # Wh per quarter hour -> mean W
    load = ledger.load[index]
    seen = load * ledger.measured[index]
    pv = ledger.pv[index]
    tan_phi = ledger.tan_phi[index]
    active_w = (seen - pv) * powered
    reactive_w = seen * tan_phi * powered
    apparent_w = math.hypot(active_w, reactive_w)
    voltages = interval_voltages(meter, conditions, index)
    currents = phase_currents(apparent_w, meter.phase_shares, voltages)
    neutral = neutral_current(currents)
    if conditions.bypass and len(currents) == 1 and any(e.start < high and e.end > low for e in conditions.bypass):
        supplied = 4.0 * (INTERVAL_SECONDS - overlap(conditions.no_supply, low, high)) / INTERVAL_SECONDS
        neutral = _bypass_neutral(load, conditions.theft_factor, pv, tan_phi, supplied, voltages[0])
    imported = floor(c0[after]) - floor(c0[index])
    exported = floor(c1[after]) - floor(c1[index])
    last = high - 1  # the interval's last second: its "end" state, still inside this day's conditions
    begin = start if start is not None else to_datetime(low)
    return IntervalRecord(
        start=begin,
        end=begin + INTERVAL,
        active_import_wh=imported,
        active_export_wh=exported,
        reactive_import_varh=floor(c2[after]) - floor(c2[index]),
        reactive_export_varh=floor(c3[after]) - floor(c3[index]),
        apparent_import_vah=floor(c4[after]) - floor(c4[index]),
        apparent_export_vah=floor(c5[after]) - floor(c5[index]),
        tou_rate=rate,
        average_power_w=float((imported - exported) * 4),
        voltage_v=voltages,
        current_a=currents,
        current_neutral_a=neutral,
        power_factor=round(abs(active_w) / apparent_w, 3) if apparent_w > 0.0 else 1.0,
        relay_connected=not covers(conditions.relay_open, last),
        supply_present=not covers(conditions.no_supply, last),
        power_down=bool(conditions.no_supply) and overlap(conditions.no_supply, low, high) > 0,
    )


def instantaneous_values(meter: MeterConstants, ledger: DayLedger, second: int) -> InstantaneousValues:
    """What the meter shows at one second of a computed day."""
    conditions = ledger.conditions
    index = (second - ledger.day * DAY_SECONDS) // INTERVAL_SECONDS
    supplied = not covers(conditions.no_supply, second)
    relay_closed = not covers(conditions.relay_open, second)
    bypassed = [episode for episode in conditions.bypass if episode.start <= second < episode.end]
    seen_fraction = conditions.theft_factor * (bypassed[0].level if bypassed else 1.0)
    jitter = 1.0 + _INSTANT_LOAD_JITTER * symmetric(meter.seed, Stream.INSTANT, second)
    load_wh = ledger.load[index] * jitter
    pv_wh = ledger.pv[index]
    tan_phi = ledger.tan_phi[index]
    powered = 4.0 if supplied and relay_closed else 0.0  # Wh per quarter hour -> W
    active = (load_wh * seen_fraction - pv_wh) * powered
    reactive = load_wh * seen_fraction * tan_phi * powered
    apparent = math.hypot(active, reactive)
    voltages = instant_voltages(meter, conditions, second)
    currents = phase_currents(apparent, meter.phase_shares, voltages)
    neutral = neutral_current(currents)
    if bypassed and supplied and len(currents) == 1:
        neutral = _bypass_neutral(load_wh, conditions.theft_factor, pv_wh, tan_phi, 4.0, voltages[0])
    return InstantaneousValues(
        at=to_datetime(second),
        voltage_v=voltages,
        current_a=currents,
        current_neutral_a=neutral,
        frequency_hz=grid_frequency(second) if supplied else 0.0,
        active_power_import_w=round(max(active, 0.0), 1),
        active_power_export_w=round(max(-active, 0.0), 1),
        reactive_power_var=round(reactive, 1),
        apparent_power_va=round(apparent, 1),
        power_factor=round(abs(active) / apparent, 3) if apparent > 0.0 else 1.0,
        relay_connected=relay_closed,
        supply_present=supplied,
        tamper=tamper_flags(conditions.tamper + conditions.bypass, second),
    )
