"""What happens to a meter on a given day besides its load: outages, voltage episodes, tamper, relay, faults.

Random episodes are drawn per day from the meter's seed (a pure function of seed and day); scripted
scenarios and the relay log are folded in. Random episodes last less than a day and are drawn on the
day they start, so a day looks at its own draw and the previous day's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from hes.simulator.physics.events import EventCode, MeterEvent
from hes.simulator.physics.randomness import Stream, generator, normal, poisson
from hes.simulator.physics.scenarios import (
    Bypass,
    DisturbanceRates,
    Outage,
    Scenario,
    StuckRegister,
    Tamper,
    TamperKind,
    Theft,
    VoltageEpisode,
    VoltageKind,
)
from hes.simulator.physics.timeline import (
    DAY_SECONDS,
    Window,
    clip,
    covers,
    date_day,
    merge,
    to_datetime,
    to_seconds,
)

# Longest random episode: shorter than a day, so only the previous day's draw can spill into a day.
_MAX_RANDOM_SECONDS = 6 * 3600
# An open-ended scenario (no end) runs until this epoch second (year 2400).
_FOREVER = 13_569_465_600


class EpisodeKind(Enum):
    """What an episode does."""

    OUTAGE = "outage"
    SAG = "sag"
    SWELL = "swell"
    METER_COVER = "meter_cover"
    TERMINAL_COVER = "terminal_cover"
    MAGNETIC = "magnetic"
    NEUTRAL = "neutral"
    BYPASS = "bypass"
    STUCK = "stuck"


_TAMPER_EPISODE = {
    TamperKind.METER_COVER: EpisodeKind.METER_COVER,
    TamperKind.TERMINAL_COVER: EpisodeKind.TERMINAL_COVER,
    TamperKind.MAGNETIC: EpisodeKind.MAGNETIC,
    TamperKind.NEUTRAL: EpisodeKind.NEUTRAL,
}
# Start and end event codes of the episodes that write events (voltage ones are per phase, below).
_EDGE_CODES: dict[EpisodeKind, tuple[EventCode, EventCode]] = {
    EpisodeKind.OUTAGE: (EventCode.POWER_DOWN, EventCode.POWER_UP),
    EpisodeKind.METER_COVER: (EventCode.METER_COVER_REMOVED, EventCode.METER_COVER_CLOSED),
    EpisodeKind.TERMINAL_COVER: (EventCode.TERMINAL_COVER_REMOVED, EventCode.TERMINAL_COVER_CLOSED),
    EpisodeKind.MAGNETIC: (EventCode.STRONG_DC_FIELD_DETECTED, EventCode.STRONG_DC_FIELD_GONE),
    EpisodeKind.NEUTRAL: (EventCode.NEUTRAL_DISTURBANCE, EventCode.NEUTRAL_DISTURBANCE_GONE),
    EpisodeKind.BYPASS: (EventCode.PHASE_NEUTRAL_CURRENT_MISMATCH, EventCode.PHASE_NEUTRAL_CURRENT_EQUAL),
}
TAMPER_KINDS = frozenset(_TAMPER_EPISODE.values())
VOLTAGE_KINDS = frozenset({EpisodeKind.SAG, EpisodeKind.SWELL})
# Random tamper kinds and their weights: covers are opened far more often than magnets are applied.
_RANDOM_TAMPER = (
    (EpisodeKind.METER_COVER, 0.4, 600.0),
    (EpisodeKind.TERMINAL_COVER, 0.3, 900.0),
    (EpisodeKind.MAGNETIC, 0.2, 3600.0),
    (EpisodeKind.NEUTRAL, 0.1, 1800.0),
)


@dataclass(frozen=True, slots=True)
class Episode:
    """Something with a start and an end (epoch seconds, half-open)."""

    kind: EpisodeKind
    start: int
    end: int
    level: float = 1.0
    """Per-unit voltage of a sag/swell; registered fraction of a bypass."""
    phases: tuple[int, ...] = (1,)


def _duration(median: float, spread: float, low: float, draw: float) -> int:
    """A log-normal duration in seconds clipped to [low, _MAX_RANDOM_SECONDS]."""
    seconds = median * math.exp(spread * draw)
    return int(min(max(seconds, low), _MAX_RANDOM_SECONDS))


def _tamper_kind(pick: float) -> tuple[EpisodeKind, float]:
    """The tamper kind a uniform draw picks, and its median duration."""
    for kind, weight, median in _RANDOM_TAMPER:
        if pick < weight:
            return kind, median
        pick -= weight
    return _RANDOM_TAMPER[-1][0], _RANDOM_TAMPER[-1][2]


def random_episodes(seed: int, day: int, rates: DisturbanceRates, phases: int) -> tuple[Episode, ...]:
    """The random episodes starting on a day: a pure function of seed and day."""
    if not (rates.outages_per_day or rates.sags_per_day or rates.swells_per_day or rates.tampers_per_day):
        return ()
    source = generator(seed, day, Stream.GRID)
    day_start = day * DAY_SECONDS
    episodes: list[Episode] = []

    def start() -> int:
        return day_start + int(source.random() * DAY_SECONDS)

    for _ in range(poisson(source, rates.outages_per_day)):
        begin = start()
        episodes.append(Episode(EpisodeKind.OUTAGE, begin, begin + _duration(900.0, 1.2, 60.0, normal(source))))
    for kind, mean, low, high, median in (
        (EpisodeKind.SAG, rates.sags_per_day, 0.70, 0.88, 60.0),
        (EpisodeKind.SWELL, rates.swells_per_day, 1.11, 1.16, 120.0),
    ):
        for _ in range(poisson(source, mean)):
            begin = start()
            level = low + (high - low) * source.random()
            # On a three-phase meter half the episodes hit one phase only.
            one_phase = phases == 3 and source.random() < 0.5
            hit = (1 + int(source.random() * 3),) if one_phase else tuple(range(1, phases + 1))
            seconds = _duration(median, 1.0, 5.0, normal(source))
            episodes.append(Episode(kind, begin, begin + seconds, level=round(level, 3), phases=hit))
    for _ in range(poisson(source, rates.tampers_per_day)):
        begin = start()
        kind, median = _tamper_kind(source.random())
        episodes.append(Episode(kind, begin, begin + _duration(median, 1.0, 30.0, normal(source))))
    return tuple(sorted(episodes, key=lambda episode: (episode.start, episode.kind.value)))


def _end(end: datetime | None) -> int:
    return _FOREVER if end is None else to_seconds(end)


def scripted_episodes(scenarios: Iterable[Scenario]) -> tuple[Episode, ...]:
    """The episodes of scripted scenarios (theft is a daily factor, not an episode)."""
    episodes: list[Episode] = []
    for scenario in scenarios:
        if isinstance(scenario, Outage):
            episodes.append(Episode(EpisodeKind.OUTAGE, to_seconds(scenario.start), to_seconds(scenario.end)))
        elif isinstance(scenario, Tamper):
            kind = _TAMPER_EPISODE[scenario.kind]
            episodes.append(Episode(kind, to_seconds(scenario.start), to_seconds(scenario.end)))
        elif isinstance(scenario, VoltageEpisode):
            kind = EpisodeKind.SAG if scenario.kind is VoltageKind.SAG else EpisodeKind.SWELL
            begin, end = to_seconds(scenario.start), to_seconds(scenario.end)
            episodes.append(Episode(kind, begin, end, level=scenario.per_unit, phases=scenario.phases))
        elif isinstance(scenario, Bypass):
            begin = to_seconds(scenario.start)
            episodes.append(Episode(EpisodeKind.BYPASS, begin, _end(scenario.end), level=scenario.residual))
        elif isinstance(scenario, StuckRegister):
            episodes.append(Episode(EpisodeKind.STUCK, to_seconds(scenario.start), _end(scenario.end)))
    return tuple(sorted(episodes, key=lambda episode: (episode.start, episode.kind.value)))


def theft_factor(thefts: Sequence[Theft], day: int) -> float:
    """The fraction of the load the meter still sees on a day (1 without theft)."""
    factor = 1.0
    for theft in thefts:
        if date_day(theft.start) <= day and (theft.end is None or day < date_day(theft.end)):
            factor *= 1.0 - theft.fraction
    return factor


def relay_open_windows(
    initially_connected: bool, changes: Sequence[tuple[int, bool]], low: int, high: int
) -> tuple[Window, ...]:
    """Where the relay is open within [low, high), from its initial state and time-ordered changes."""
    windows: list[Window] = []
    opened_at = None if initially_connected else low
    for second, connected in changes:
        if not connected and opened_at is None:
            opened_at = second
        elif connected and opened_at is not None:
            windows.append((opened_at, second))
            opened_at = None
    if opened_at is not None:
        windows.append((opened_at, high))
    return clip(windows, low, high)


@dataclass(frozen=True, slots=True)
class DayConditions:
    """Everything besides the load that shapes one UTC day of one meter."""

    day: int
    no_supply: tuple[Window, ...]
    relay_open: tuple[Window, ...]
    energy_off: tuple[Window, ...]
    """Where registers do not count: no supply, relay open, stuck register, before installation."""
    power_off: tuple[Window, ...]
    """Where the meter measures no load: no supply or relay open."""
    voltage: tuple[Episode, ...]
    tamper: tuple[Episode, ...]
    bypass: tuple[Episode, ...]
    theft_factor: float

    @property
    def measured_changes(self) -> bool:
        """Whether theft or a bypass changes what the meter sees of the load on this day."""
        return self.theft_factor != 1.0 or bool(self.bypass)


def day_conditions(
    day: int,
    episodes: Iterable[Episode],
    thefts: Sequence[Theft],
    relay_initially_connected: bool,
    relay_changes: Sequence[tuple[int, bool]],
    installed: int,
) -> DayConditions:
    """Fold the episodes overlapping a day, the relay log and the installation time into its conditions."""
    low, high = day * DAY_SECONDS, (day + 1) * DAY_SECONDS
    today = [episode for episode in episodes if episode.end > low and episode.start < high]
    no_supply = clip(((e.start, e.end) for e in today if e.kind is EpisodeKind.OUTAGE), low, high)
    relay_open = relay_open_windows(relay_initially_connected, relay_changes, low, high)
    stuck = [(e.start, e.end) for e in today if e.kind is EpisodeKind.STUCK]
    if installed > low:
        stuck.append((low, installed))
    return DayConditions(
        day=day,
        no_supply=no_supply,
        relay_open=relay_open,
        energy_off=clip([*no_supply, *relay_open, *stuck], low, high),
        power_off=merge([*no_supply, *relay_open]),
        voltage=tuple(e for e in today if e.kind in VOLTAGE_KINDS),
        tamper=tuple(e for e in today if e.kind in TAMPER_KINDS),
        bypass=tuple(e for e in today if e.kind is EpisodeKind.BYPASS),
        theft_factor=theft_factor(thefts, day),
    )


def episode_events(episodes: Iterable[Episode], outages: Sequence[Window]) -> list[MeterEvent]:
    """The start and end events of episodes; a sag or swell that begins without supply is not seen."""
    events: list[MeterEvent] = []
    for episode in episodes:
        begin, end = to_datetime(episode.start), to_datetime(episode.end)
        if episode.kind in VOLTAGE_KINDS:
            if covers(outages, episode.start):
                continue
            first = EventCode.UNDER_VOLTAGE_L1 if episode.kind is EpisodeKind.SAG else EventCode.OVER_VOLTAGE_L1
            for phase in episode.phases:
                events.append(MeterEvent(begin, EventCode(first + phase - 1), phase=phase))
                events.append(MeterEvent(end, EventCode(EventCode.VOLTAGE_NORMAL_L1 + phase - 1), phase=phase))
        elif episode.kind in _EDGE_CODES:
            opened, closed = _EDGE_CODES[episode.kind]
            events.append(MeterEvent(begin, opened))
            if episode.end < _FOREVER:
                duration = end - begin if episode.kind is EpisodeKind.OUTAGE else None
                events.append(MeterEvent(end, closed, duration=duration))
    return events
