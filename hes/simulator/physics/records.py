"""What a simulated meter measures, as frozen plain values (the COSEM object model turns them into Data).

Resolutions match the usual register scalers: energy in whole Wh / varh / VAh (scaler 0), voltage to
0.1 V (scaler -1), current to 1 mA (scaler -3), frequency to 0.01 Hz (scaler -2), power to 0.1 W,
power factor to 0.001. A coarser register (kWh, or "10 Wh" with scaler 1) stays exactly consistent with
its load profile when both are derived from these integers: floor(register / 10) and its differences.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hes.simulator.physics.events import TamperFlag

Rates = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class EnergyRegisters:
    """Cumulative energy registers: totals, and active energy split over the four TOU rates."""

    active_import_wh: int
    """1-0:1.8.0 (A+); the rate registers are 1-0:1.8.1 .. 1-0:1.8.4."""
    active_export_wh: int
    """1-0:2.8.0 (A-); the rate registers are 1-0:2.8.1 .. 1-0:2.8.4."""
    reactive_import_varh: int
    """1-0:3.8.0 (R+, quadrants I and II)."""
    reactive_export_varh: int
    """1-0:4.8.0 (R-, quadrants III and IV)."""
    apparent_import_vah: int
    """1-0:9.8.0."""
    apparent_export_vah: int
    """1-0:10.8.0."""
    active_import_by_rate_wh: Rates
    active_export_by_rate_wh: Rates

    def __post_init__(self) -> None:
        totals = (
            self.active_import_wh,
            self.active_export_wh,
            self.reactive_import_varh,
            self.reactive_export_varh,
            self.apparent_import_vah,
            self.apparent_export_vah,
        )
        if any(value < 0 for value in totals):
            raise ValueError("energy registers cannot be negative")
        for name, rates, total in (
            ("import", self.active_import_by_rate_wh, self.active_import_wh),
            ("export", self.active_export_by_rate_wh, self.active_export_wh),
        ):
            if len(rates) != 4 or any(value < 0 for value in rates):
                raise ValueError(f"active {name} needs four non-negative rate registers")
            if sum(rates) != total:
                raise ValueError(f"active {name} rate registers sum to {sum(rates)}, not the total {total}")


@dataclass(frozen=True, slots=True)
class RegisterSnapshot(EnergyRegisters):
    """The energy registers as they read at one moment."""

    at: datetime


@dataclass(frozen=True, slots=True)
class IntervalRecord:
    """One 15-minute load-profile interval [start, end); a DLMS load profile stamps it with `end`.

    Energies are what the registers advanced by over the interval, so a register equals its starting
    value plus the sum of these. Voltage is the mean while supplied; current the mean over the interval.
    """

    start: datetime
    end: datetime
    active_import_wh: int
    active_export_wh: int
    reactive_import_varh: int
    reactive_export_varh: int
    apparent_import_vah: int
    apparent_export_vah: int
    tou_rate: int
    average_power_w: float
    """(import - export) energy as a mean power: negative while the meter exports."""
    voltage_v: tuple[float, ...]
    """Per phase L1(, L2, L3); 0 when the supply was away all interval."""
    current_a: tuple[float, ...]
    current_neutral_a: float
    power_factor: float
    relay_connected: bool
    """State of the disconnector at the end of the interval."""
    supply_present: bool
    """Whether the supply is there at the end of the interval."""
    power_down: bool
    """The supply was away during part of the interval (IDIS AMR profile status bit 7, "power down")."""


@dataclass(frozen=True, slots=True)
class InstantaneousValues:
    """What the meter's display and instantaneous registers show at one second."""

    at: datetime
    voltage_v: tuple[float, ...]
    """Per phase, supply side of the relay (present while the relay is open): 1-0:32.7.0 / 52.7.0 / 72.7.0."""
    current_a: tuple[float, ...]
    """Per phase: 1-0:31.7.0 / 51.7.0 / 71.7.0."""
    current_neutral_a: float
    """1-0:91.7.0."""
    frequency_hz: float
    """1-0:14.7.0; 0 without supply."""
    active_power_import_w: float
    """1-0:1.7.0."""
    active_power_export_w: float
    """1-0:2.7.0."""
    reactive_power_var: float
    """Signed: positive is inductive (R+, 1-0:3.7.0), negative capacitive (R-, 1-0:4.7.0)."""
    apparent_power_va: float
    power_factor: float
    """1-0:13.7.0; 1.0 at no load."""
    relay_connected: bool
    supply_present: bool
    tamper: TamperFlag
