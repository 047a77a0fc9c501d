"""Scripted scenarios (theft, bypass, stuck register, outages, tamper, voltage episodes) and random grid rates.

A scenario is a frozen value handed to a `MeterModel`; it never changes what happened before it starts.
Analytics tests use them to plant a known fault in a known meter from a known time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TypeAlias

from hes.simulator.physics.timeline import to_seconds

SAG_LIMIT = 0.9
"""A sag is a dip below 90 % of the declared voltage (IEC 61000-4-30 5.4.2)."""
SWELL_LIMIT = 1.1
"""A swell is a rise above 110 % of the declared voltage (IEC 61000-4-30 5.4.2)."""


class TamperKind(StrEnum):
    """Physical tampering a meter detects and logs."""

    METER_COVER = "meter_cover"
    TERMINAL_COVER = "terminal_cover"
    MAGNETIC = "magnetic"
    NEUTRAL = "neutral"


class VoltageKind(StrEnum):
    """Direction of a voltage episode."""

    SAG = "sag"
    SWELL = "swell"


def _check_span(start: datetime, end: datetime | None) -> None:
    begin = to_seconds(start, "start")
    if end is not None and to_seconds(end, "end") <= begin:
        raise ValueError(f"end {end.isoformat()} must be after start {start.isoformat()}")


@dataclass(frozen=True, slots=True)
class Theft:
    """From 00:00 UTC of `start` the meter sees only (1 - fraction) of the load: part is fed around it."""

    start: date
    fraction: float
    end: date | None = None
    """First day without theft; None: it goes on."""

    def __post_init__(self) -> None:
        if not 0.0 < self.fraction <= 1.0:
            raise ValueError(f"theft fraction must be in (0, 1], not {self.fraction}")
        if self.end is not None and self.end <= self.start:
            raise ValueError("theft must end after it starts")


@dataclass(frozen=True, slots=True)
class Bypass:
    """The phase conductor is bridged around the meter: it registers `residual` of the load while the
    full current still returns through its neutral (phase and neutral currents differ; modelled on
    single-phase meters, where the neutral current is measured against the phase current)."""

    start: datetime
    end: datetime | None = None
    residual: float = 0.02

    def __post_init__(self) -> None:
        _check_span(self.start, self.end)
        if not 0.0 <= self.residual < 1.0:
            raise ValueError(f"bypass residual must be in [0, 1), not {self.residual}")


@dataclass(frozen=True, slots=True)
class StuckRegister:
    """The energy registers stop counting (and the load profile shows zero energy) while the load and the
    instantaneous values carry on."""

    start: datetime
    end: datetime | None = None

    def __post_init__(self) -> None:
        _check_span(self.start, self.end)


@dataclass(frozen=True, slots=True)
class Outage:
    """No supply: no voltage, no current, no energy; power-down and power-up events at its edges."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        _check_span(self.start, self.end)


@dataclass(frozen=True, slots=True)
class Tamper:
    """A tamper episode: detected at `start`, cleared at `end` (cover closed, field gone)."""

    kind: TamperKind
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        _check_span(self.start, self.end)


@dataclass(frozen=True, slots=True)
class VoltageEpisode:
    """A sag or swell on some phases: the voltage sits at `level` times nominal from start to end."""

    kind: VoltageKind
    start: datetime
    end: datetime
    level: float | None = None
    """Per unit of 230 V; None: 0.80 for a sag, 1.13 for a swell."""
    phases: tuple[int, ...] = (1,)

    def __post_init__(self) -> None:
        _check_span(self.start, self.end)
        level = self.per_unit
        if self.kind is VoltageKind.SAG and not 0.0 < level < SAG_LIMIT:
            raise ValueError(f"a sag level is above 0 and below {SAG_LIMIT} per unit, not {level}")
        if self.kind is VoltageKind.SWELL and not SWELL_LIMIT < level <= 1.5:
            raise ValueError(f"a swell level is above {SWELL_LIMIT} and at most 1.5 per unit, not {level}")
        if not self.phases or len(set(self.phases)) != len(self.phases) or not set(self.phases) <= {1, 2, 3}:
            raise ValueError(f"phases must be distinct values of 1, 2, 3, not {self.phases}")

    @property
    def per_unit(self) -> float:
        """The voltage level as a fraction of nominal."""
        if self.level is not None:
            return self.level
        return 0.80 if self.kind is VoltageKind.SAG else 1.13


Scenario: TypeAlias = Theft | Bypass | StuckRegister | Outage | Tamper | VoltageEpisode


@dataclass(frozen=True, slots=True)
class DisturbanceRates:
    """Mean number of random episodes per meter and day; each day draws its own, from the meter's seed."""

    outages_per_day: float = 0.02
    sags_per_day: float = 0.03
    swells_per_day: float = 0.01
    tampers_per_day: float = 0.002

    def __post_init__(self) -> None:
        for name in ("outages_per_day", "sags_per_day", "swells_per_day", "tampers_per_day"):
            value = getattr(self, name)
            # Above a few a day the Poisson draw and the "episodes rarely overlap" assumption stop holding.
            if not 0.0 <= value <= 5.0:
                raise ValueError(f"{name} must be between 0 and 5, not {value}")


NO_DISTURBANCES = DisturbanceRates(0.0, 0.0, 0.0, 0.0)
"""A quiet grid and honest customers: only scripted scenarios happen."""
