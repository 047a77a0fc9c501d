"""A meter's seed-derived constants, its default starting registers and the checks of its scenarios."""

from __future__ import annotations

from collections.abc import Sequence

from hes.simulator.physics.ledger import MeterConstants
from hes.simulator.physics.profiles import TRAITS, ProfileClass, solar_shape
from hes.simulator.physics.randomness import Stream, mix, symmetric, unit
from hes.simulator.physics.records import EnergyRegisters, Rates
from hes.simulator.physics.scenarios import Bypass, Outage, Scenario, StuckRegister, Tamper, Theft, VoltageEpisode

_MIDSUMMER = 172


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


def validate_scenario(scenario: Scenario, phases: int) -> None:
    """Check a scenario fits a meter.

    Raises:
        ValueError: not a scenario, or a voltage episode on a phase the meter does not have.
    """
    if not isinstance(scenario, Theft | Bypass | StuckRegister | Outage | Tamper | VoltageEpisode):
        raise ValueError(f"not a scenario: {scenario!r}")
    if isinstance(scenario, VoltageEpisode) and max(scenario.phases) > phases:
        raise ValueError(f"a {phases}-phase meter has no phase {max(scenario.phases)}")
