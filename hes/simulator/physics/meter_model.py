"""One simulated meter: load profile, registers, instantaneous values and events as pure functions of time.

Every answer is a function of the meter's seed, its constructor arguments, the time asked about and the
two explicit mutable inputs: the relay log (`set_relay`) and scenarios added later (`add_scenario`). Both
only ever change the future. Nothing is generated at construction; a day is computed when first asked
for (~0.2 ms) and the last one is kept.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import date, datetime

from hes.simulator.physics.conditions import (
    EpisodeKind,
    day_conditions,
    episode_events,
    random_episodes,
    scripted_episodes,
)
from hes.simulator.physics.events import EventCode, MeterEvent, TamperFlag
from hes.simulator.physics.ledger import DayLedger, compute_day
from hes.simulator.physics.meter_setup import (
    constants_for,
    daily_caps,
    default_start_registers,
    estimated_totals,
    validate_scenario,
)
from hes.simulator.physics.profiles import DEFAULT_TOU, ProfileClass, TouTable
from hes.simulator.physics.readings import instantaneous_values, interval_record, tamper_flags
from hes.simulator.physics.records import EnergyRegisters, InstantaneousValues, IntervalRecord, RegisterSnapshot
from hes.simulator.physics.register_book import RegisterBook, Totals, position_totals
from hes.simulator.physics.scenarios import DisturbanceRates, Scenario, Theft
from hes.simulator.physics.timeline import (
    DAY_SECONDS,
    INTERVAL,
    INTERVAL_SECONDS,
    INTERVALS_PER_DAY,
    clip,
    date_day,
    day_of,
    overlap,
    to_datetime,
    to_seconds,
)

_RELAY_CODE = {True: EventCode.REMOTE_CONNECTION, False: EventCode.REMOTE_DISCONNECTION}


class MeterModel:
    """The physics of one meter; see the module docstring for what is pure and what is mutable."""

    def __init__(
        self,
        meter_number: str,
        profile_class: ProfileClass,
        seed: int,
        phases: int,
        scale_kwh_per_day: float,
        start: datetime,
        scenarios: Sequence[Scenario] = (),
        reverse_flow: bool = False,
        *,
        disturbances: DisturbanceRates | None = None,
        tou: TouTable = DEFAULT_TOU,
        start_registers: EnergyRegisters | None = None,
        relay_connected: bool = True,
        anchor: datetime | None = None,
        exact_from: datetime | None = None,
    ) -> None:
        """Describe a meter; cheap (no history is generated).

        Args:
            meter_number: the meter's serial, carried for the caller's convenience.
            profile_class: household, commercial or small-industrial load shape.
            seed: everything random about this meter derives from it.
            phases: 1 or 3.
            scale_kwh_per_day: mean daily consumption over a year.
            start: installation time (aware); floored to its 15-minute boundary. Nothing exists before it.
            scenarios: scripted faults and episodes.
            reverse_flow: the customer has PV and exports at midday.
            disturbances: rates of random outages, sags, swells and tampering (default: a typical grid).
            tou: the daily time-of-use table of the rate registers.
            start_registers: register values at `start`; default: a few seed-derived years of use.
            relay_connected: relay state at `start`.
            anchor: a later time (floored to 00:00 UTC) from which on registers are rolled exactly; at it they
                are an estimate (`meter_setup.estimated_totals`: each register at a daily cap above any month's
                mean), and before it they follow that estimate linearly. Reading a register then costs the days
                since `anchor`, not since `start`. None (or not after `start`): exact from `start` on.
            exact_from: with `anchor`, an earlier time (floored to 00:00 UTC, not before `start`) from which on
                registers are exact before the anchor too: rolled backwards from the anchor's estimate, so the
                load profile before the anchor adds up as well. Before it, the estimate. A relay change or a
                scenario may then not begin before the anchor (that would rewrite the history rolled from it).
                For registers that never decrease, make [exact_from, anchor) whole weeks or months: their energy
                stays under the daily caps, so the anchor's estimate less that energy stays above the estimate.

        Raises:
            ValueError: a bad argument, with what is wrong in the message.
        """
        if phases not in (1, 3):
            raise ValueError(f"a meter has 1 or 3 phases, not {phases}")
        if not 0.0 < scale_kwh_per_day <= 100_000.0:
            raise ValueError(f"scale_kwh_per_day must be above 0 and at most 100000, not {scale_kwh_per_day}")
        self.meter_number = meter_number
        self.profile_class = ProfileClass(profile_class)
        self.seed = seed
        self.phases = phases
        self.scale_kwh_per_day = scale_kwh_per_day
        self.reverse_flow = reverse_flow
        self.disturbances = disturbances if disturbances is not None else DisturbanceRates()
        self.tou = tou
        self._installed = to_seconds(start, "start") // INTERVAL_SECONDS * INTERVAL_SECONDS
        self._constants = constants_for(self.profile_class, seed, phases, scale_kwh_per_day, reverse_flow)
        self._blocks = tou.blocks
        self._rates = tou.rates
        self.start_registers = start_registers or default_start_registers(self._constants, self._blocks)
        self._relay_initially = relay_connected
        self._relay_changes: list[tuple[int, bool]] = []
        self._scenarios: list[Scenario] = []
        for scenario in scenarios:
            validate_scenario(scenario, phases)
            self._scenarios.append(scenario)
        self._refresh_scenarios()
        registers = self.start_registers
        self._start_totals: Totals = (
            registers.active_import_wh,
            registers.active_export_wh,
            registers.reactive_import_varh,
            registers.reactive_export_varh,
            registers.apparent_import_vah,
            registers.apparent_export_vah,
            *registers.active_import_by_rate_wh,
            *registers.active_export_by_rate_wh,
        )
        self._caps = daily_caps(self._constants, self._blocks)
        first_day = day_of(self._installed)
        anchor_day = day_of(to_seconds(anchor, "anchor")) if anchor is not None else first_day
        # An anchor on the installation day itself would round the start values' estimate: exact from there.
        self._anchored = anchor_day * DAY_SECONDS if anchor_day * DAY_SECONDS > self._installed else self._installed
        book_day = day_of(self._anchored)
        exact_day = day_of(to_seconds(exact_from, "exact_from")) if exact_from is not None else book_day
        # Exact from the first whole day not before installation (the installation day's start has no value).
        exact_day = min(book_day, max(exact_day, -(-self._installed // DAY_SECONDS)))
        self._exact_from = exact_day * DAY_SECONDS if exact_day < book_day else self._anchored
        self._book = RegisterBook(
            book_day, self._estimate(self._anchored) if book_day > first_day else self._start_totals, exact_day
        )
        # The earliest second a change may still touch: history rolled backwards from the anchor is fixed.
        self._not_before = self._anchored if self._exact_from < self._anchored else self._installed
        self._ledger: DayLedger | None = None

    # -- what the meter is ---------------------------------------------------------------------------

    @property
    def start(self) -> datetime:
        """Installation time (on a 15-minute boundary)."""
        return to_datetime(self._installed)

    @property
    def pv_peak_kw(self) -> float:
        """Installed PV peak power; 0 without reverse flow."""
        return self._constants.pv_kwp

    @property
    def scenarios(self) -> tuple[Scenario, ...]:
        """The scripted scenarios, in the order given."""
        return tuple(self._scenarios)

    # -- the two mutable inputs ----------------------------------------------------------------------

    def set_relay(self, connected: bool, at: datetime) -> bool:
        """Close or open the relay from `at` on (a remote connection or disconnection).

        Returns:
            Whether the state changed (an event is logged only then).

        Raises:
            ValueError: `at` is before installation or before an earlier change: history is not rewritten.
        """
        second = self._not_before_check(at)
        if self._relay_at(second) == connected:
            return False
        self._relay_changes.append((second, connected))
        self._changed(second, second)
        return True

    def add_scenario(self, scenario: Scenario, now: datetime) -> None:
        """Add a scenario that starts at or after `now` (the simulated present).

        Raises:
            ValueError: it would start before `now`, or it does not fit this meter.
        """
        second = self._not_before_check(now)
        validate_scenario(scenario, self.phases)
        begins = date_day(scenario.start) * DAY_SECONDS if isinstance(scenario, Theft) else to_seconds(scenario.start)
        if begins < second:
            raise ValueError("a scenario added at run time cannot start in the past")
        self._scenarios.append(scenario)
        self._refresh_scenarios()
        self._changed(second, begins)

    def relay_connected(self, at: datetime) -> bool:
        """The relay state at a time."""
        return self._relay_at(to_seconds(at))

    # -- readings ------------------------------------------------------------------------------------

    def interval(self, at: datetime) -> IntervalRecord:
        """The 15-minute interval holding `at`.

        Raises:
            ValueError: `at` is naive or before installation.
        """
        second = self._installed_check(at)
        day = day_of(second)
        index = (second - day * DAY_SECONDS) // INTERVAL_SECONDS
        return interval_record(self._constants, self._day(day), index, self._rates[index])

    def intervals(self, start: datetime, end: datetime) -> list[IntervalRecord]:
        """The intervals whose start lies in [start, end) and not before installation."""
        low = max(-(-to_seconds(start, "start") // INTERVAL_SECONDS) * INTERVAL_SECONDS, self._installed)
        high = to_seconds(end, "end")
        records: list[IntervalRecord] = []
        begin = to_datetime(low)
        for second in range(low, high, INTERVAL_SECONDS):
            day = day_of(second)
            index = (second - day * DAY_SECONDS) // INTERVAL_SECONDS
            records.append(interval_record(self._constants, self._day(day), index, self._rates[index], begin))
            begin += INTERVAL
        return records

    def registers(self, at: datetime) -> RegisterSnapshot:
        """The cumulative energy registers at `at`: the start values (or the anchor's) plus every interval energy
        up to it (less every one from it to the anchor, after `exact_from`); before that, the estimate.

        Raises:
            ValueError: `at` is naive or before installation.
        """
        second = self._installed_check(at)
        if second < self._exact_from:
            return _snapshot(to_datetime(second), self._estimate(second))
        day = day_of(second)
        base = self._book.at_day_start(day, self._day_advance)
        ledger = self._day(day)
        index, into = divmod(second - day * DAY_SECONDS, INTERVAL_SECONDS)
        if into == 0:
            advance = position_totals(ledger, self._blocks, index, None)
        else:
            low = day * DAY_SECONDS + index * INTERVAL_SECONDS
            counted = (into - overlap(ledger.conditions.energy_off, low, second)) / INTERVAL_SECONDS
            partial = [rate * counted for rate in ledger.rates(index)]
            advance = position_totals(ledger, self._blocks, index, partial)
        return _snapshot(to_datetime(second), tuple(a + b for a, b in zip(base, advance, strict=True)))

    def daily_snapshot(self, day: date) -> RegisterSnapshot:
        """The registers at 00:00 UTC of a day (the daily billing values)."""
        return self.registers(to_datetime(date_day(day) * DAY_SECONDS))

    def monthly_snapshot(self, year: int, month: int) -> RegisterSnapshot:
        """The registers at 00:00 UTC on the first of a month (the monthly billing values)."""
        return self.daily_snapshot(date(year, month, 1))

    def daily_snapshots(self, first: date, last: date) -> list[RegisterSnapshot]:
        """Daily billing values for each day from `first` to `last` inclusive, from installation on."""
        begin = max(date_day(first), -(-self._installed // DAY_SECONDS))
        return [self.registers(to_datetime(day * DAY_SECONDS)) for day in range(begin, date_day(last) + 1)]

    def monthly_snapshots(self, first: date, last: date) -> list[RegisterSnapshot]:
        """Monthly billing values for each first of a month from `first` to `last`, from installation on."""
        return [snapshot for snapshot in self.daily_snapshots(first, last) if snapshot.at.day == 1]

    def instantaneous(self, at: datetime) -> InstantaneousValues:
        """Voltage, current, power and frequency at one second.

        Raises:
            ValueError: `at` is naive or before installation.
        """
        second = self._installed_check(at)
        return instantaneous_values(self._constants, self._day(day_of(second)), second)

    def tamper_status(self, at: datetime) -> TamperFlag:
        """The tamper status word at a time: the tamper conditions present then."""
        second = self._installed_check(at)
        conditions = self._day(day_of(second)).conditions
        return tamper_flags(conditions.tamper + conditions.bypass, second)

    def events(self, start: datetime, end: datetime) -> list[MeterEvent]:
        """Events stamped in [start, end) and not before installation, in time order."""
        low = max(to_seconds(start, "start"), self._installed)
        high = to_seconds(end, "end")
        if high <= low:
            return []
        episodes = [
            episode
            for day in range(day_of(low) - 1, day_of(high - 1) + 1)
            for episode in random_episodes(self.seed, day, self.disturbances, self.phases)
        ]
        episodes += [episode for episode in self._episodes if episode.start < high and episode.end >= low]
        outages = clip(((e.start, e.end) for e in episodes if e.kind is EpisodeKind.OUTAGE), low - DAY_SECONDS, high)
        found = episode_events(episodes, outages)
        found += [MeterEvent(to_datetime(second), _RELAY_CODE[connected]) for second, connected in self._relay_changes]
        return sorted(
            (event for event in found if low <= to_seconds(event.at) < high),
            key=lambda event: (event.at, event.code),
        )

    # -- internals -----------------------------------------------------------------------------------

    def _estimate(self, second: int) -> Totals:
        """The registers before the anchor: the start values grown at their daily caps since installation."""
        return estimated_totals(self._start_totals, self._caps, (second - self._installed) / DAY_SECONDS)

    def _refresh_scenarios(self) -> None:
        self._episodes = scripted_episodes(self._scenarios)
        self._thefts = tuple(scenario for scenario in self._scenarios if isinstance(scenario, Theft))

    def _installed_check(self, at: datetime) -> int:
        second = to_seconds(at)
        if second < self._installed:
            raise ValueError(f"{at.isoformat()} is before the meter was installed ({self.start.isoformat()})")
        return second

    def _not_before_check(self, at: datetime) -> int:
        second = self._installed_check(at)
        if second < self._not_before:
            raise ValueError(f"{at.isoformat()} is before an earlier change: the past is not rewritten")
        return second

    def _changed(self, now: int, effect_from: int) -> None:
        """Record that the simulated present is `now` and that answers from `effect_from` on changed."""
        self._not_before = max(self._not_before, now)
        self._book.forget_after(effect_from)
        if self._ledger is not None and self._ledger.day >= day_of(effect_from):
            self._ledger = None

    def _relay_at(self, second: int) -> bool:
        changes = self._relay_changes
        position = bisect_right(changes, (second, True))
        return changes[position - 1][1] if position else self._relay_initially

    def _day(self, day: int) -> DayLedger:
        ledger = self._ledger
        if ledger is None or ledger.day != day:
            ledger = self._ledger = self._compute(day)
        return ledger

    def _compute(self, day: int) -> DayLedger:
        episodes = (
            *random_episodes(self.seed, day - 1, self.disturbances, self.phases),
            *random_episodes(self.seed, day, self.disturbances, self.phases),
            *self._episodes,
        )
        conditions = day_conditions(
            day, episodes, self._thefts, self._relay_initially, self._relay_changes, self._installed
        )
        return compute_day(self._constants, day, conditions)

    def _day_advance(self, day: int) -> Totals:
        ledger = self._ledger if self._ledger is not None and self._ledger.day == day else self._compute(day)
        return position_totals(ledger, self._blocks, INTERVALS_PER_DAY, None)


def _snapshot(at: datetime, totals: Totals) -> RegisterSnapshot:
    return RegisterSnapshot(
        active_import_wh=totals[0],
        active_export_wh=totals[1],
        reactive_import_varh=totals[2],
        reactive_export_varh=totals[3],
        apparent_import_vah=totals[4],
        apparent_export_vah=totals[5],
        active_import_by_rate_wh=(totals[6], totals[7], totals[8], totals[9]),
        active_export_by_rate_wh=(totals[10], totals[11], totals[12], totals[13]),
        at=at,
    )
