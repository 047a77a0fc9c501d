"""A meter's seed-derived constants, its default starting registers and the checks of its scenarios."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

from hes.simulator.physics.ledger import MeterConstants
from hes.simulator.physics.profiles import TRAITS, ProfileClass, solar_shape
from hes.simulator.physics.randomness import Stream, mix, symmetric, unit
from hes.simulator.physics.records import EnergyRegisters, Rates
from hes.simulator.physics.scenarios import Bypass, Outage, Scenario, StuckRegister, Tamper, Theft, VoltageEpisode

_MIDSUMMER = 172
_MONTH_MARGIN = 1.5
"""How far above its seasonal-peak mean a calendar month's consumption is assumed never to reach: a month
averages ~30 day draws (day spread <= 12 %), so it stays within a few per cent of its mean."""


def constants_for(
    profile_class: ProfileClass, seed: int, phases: int, scale_kwh_per_day: float, reverse_flow: bool
) -> MeterConstants:
    """The constants of a meter: where it sits on its feeder, how its load splits, how much PV it has."""
    # Meters near the transformer read a little high, those at the end of a long feeder a little low.
    feeder_position = -0.03 + 0.05 * unit(seed, Stream.METER, 1)
    offsets = tuple(feeder_position + 0.005 * symmetric(seed, Stream.METER, 10 + phase) for phase in range(phases))
    if phases == 3:
        raw = [1.0 + 0.15 * symmetric(seed, Stream.METER, 20 + phase) for phase in range(3)]
        shares = tuple(value / sum(raw) for value in raw)
    else:
        shares = (1.0,)
    # Sized so that a sunny midday comfortably exceeds the household's own midday load.
    pv_kwp = scale_kwh_per_day * (0.3 + 0.2 * unit(seed, Stream.METER, 2)) if reverse_flow else 0.0
    return MeterConstants(
        seed=seed,
        traits=TRAITS[profile_class],
        daily_wh=scale_kwh_per_day * 1000.0,
        pv_kwp=pv_kwp,
        phase_shares=shares,
        voltage_offsets=offsets,
        voltage_key=mix(seed, Stream.VOLTAGE),
    )


def _split(total: int, weights: Sequence[float]) -> Rates:
    """`total` split in proportion to four weights, in whole units that add up exactly."""
    whole = sum(weights)
    if whole <= 0.0:
        return (0, total, 0, 0)
    parts = [int(total * weight / whole) for weight in weights]
    largest = max(range(4), key=lambda rate: weights[rate])
    parts[largest] += total - sum(parts)
    return (parts[0], parts[1], parts[2], parts[3])


def _weights_by_rate(values: Sequence[float], blocks: Sequence[tuple[int, int, int]]) -> list[float]:
    weights = [0.0] * 4
    for start, end, rate in blocks:
        weights[rate - 1] += sum(values[start:end])
    return weights


def default_start_registers(meter: MeterConstants, blocks: Sequence[tuple[int, int, int]]) -> EnergyRegisters:
    """Registers of a meter that has been in service 0.2-4 seed-derived years at its mean consumption."""
    days = 365.25 * (0.2 + 3.8 * unit(meter.seed, Stream.METER, 3))
    imported = int(meter.daily_wh * days)
    # About half of a PV yield of ~3 full-load hours a day is used at home; the rest is exported.
    exported = int(meter.pv_kwp * 1000.0 * 3.0 * days * 0.5)
    return EnergyRegisters(
        active_import_wh=imported,
        active_export_wh=exported,
        reactive_import_varh=int(imported * 0.3),
        reactive_export_varh=int(imported * 0.02) if meter.traits.leading_below > 0.0 else 0,
        apparent_import_vah=int(imported * 1.05),
        apparent_export_vah=exported,
        active_import_by_rate_wh=_split(imported, _weights_by_rate(meter.traits.shapes[0], blocks)),
        active_export_by_rate_wh=_split(exported, _weights_by_rate(solar_shape(_MIDSUMMER), blocks)),
    )


@lru_cache(maxsize=1)
def _peak_solar() -> tuple[float, ...]:
    """Per quarter hour, the highest clear-sky PV output of any day of the year (kWh per kWp)."""
    days = [solar_shape(day) for day in range(1, 367)]
    return tuple(max(values) for values in zip(*days, strict=True))


def daily_caps(meter: MeterConstants, blocks: Sequence[tuple[int, int, int]]) -> tuple[float, ...]:
    """Per register (the RegisterBook order), an energy per day that no calendar month's mean reaches.

    Import is bounded by the load at the seasonal peak of the busiest day type times a margin; export by the
    clear-sky PV yield (a hard bound); reactive and apparent by the worst power factor. Rates get their share
    of the busiest day's blocks, and each total is the sum of its rates so that rates add up exactly.
    """
    traits = meter.traits
    peak = meter.daily_wh * (1.0 + abs(traits.seasonal_amplitude)) * _MONTH_MARGIN
    imports = [max(_weights_by_rate(shape, blocks)[rate] for shape in traits.shapes) * peak for rate in range(4)]
    pv = meter.pv_kwp * 1000.0
    exports = [weight * pv for weight in _weights_by_rate(_peak_solar(), blocks)] if pv > 0.0 else [0.0] * 4
    load = sum(imports)
    # The lowest power factor a draw can give (ledger.compute_day adds +/- 0.01 of noise to it).
    worst = max(0.05, traits.power_factor_low - 0.01)
    tangent = math.sqrt(1.0 / (worst * worst) - 1.0)
    leading = load * tangent if traits.leading_below > 0.0 else 0.0
    return (
        load,
        sum(exports),
        load * tangent,
        leading,
        load / worst,
        sum(exports) + load * tangent if pv > 0.0 else 0.0,
        *imports,
        *exports,
    )


def estimated_totals(start: Sequence[int], caps: Sequence[float], days: float) -> tuple[int, ...]:
    """Registers `days` after `start` at the `caps` rates, in whole units; the channel totals are the sums of
    their rates' floors, so rates keep adding up to the totals exactly."""
    rates = [value + math.floor(cap * days) for value, cap in zip(start[6:], caps[6:], strict=True)]
    totals = [value + math.floor(cap * days) for value, cap in zip(start[:6], caps[:6], strict=True)]
    totals[0] = start[0] + sum(rates[:4]) - sum(start[6:10])
    totals[1] = start[1] + sum(rates[4:]) - sum(start[10:14])
    return (*totals, *rates)


def validate_scenario(scenario: Scenario, phases: int) -> None:
    """Check a scenario fits a meter.

    Raises:
        ValueError: not a scenario, or a voltage episode on a phase the meter does not have.
    """
    if not isinstance(scenario, Theft | Bypass | StuckRegister | Outage | Tamper | VoltageEpisode):
        raise ValueError(f"not a scenario: {scenario!r}")
    if isinstance(scenario, VoltageEpisode) and max(scenario.phases) > phases:
        raise ValueError(f"a {phases}-phase meter has no phase {max(scenario.phases)}")
