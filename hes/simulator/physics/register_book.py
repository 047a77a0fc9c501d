"""Register values at any time without summing every interval since installation.

A register at time t is its value at the start of t's day plus the day's running energy up to t. The book starts
from given values at one day start and rolls from there, forwards (adding each day's advance) and, down to its
first day, backwards (subtracting it): so registers can be fixed near the present and still be exact, with
the load profile, for the history before it. Values at day starts are kept as checkpoints: the starting day,
every 16th day from it either way, and the latest day asked for. Reading a new day rolls from the nearest
checkpoint (usually one day away), so a fleet that runs for months reads registers in constant time while
keeping ~40 small tuples per meter-year.
"""

from __future__ import annotations

import math
from bisect import bisect_right, insort
from collections.abc import Callable, Sequence

from hes.simulator.physics.ledger import DayLedger
from hes.simulator.physics.timeline import DAY_SECONDS

Totals = tuple[int, ...]
"""Register values in a fixed order: the six channel totals, then active import by rate 1-4, then
active export by rate 1-4."""
TOTALS_LENGTH = 14
_KEEP_EVERY = 16  # days between kept checkpoints: at most 15 days to roll forward for an old reading


def position_totals(
    ledger: DayLedger,
    blocks: Sequence[tuple[int, int, int]],
    index: int,
    partial: Sequence[float] | None,
) -> Totals:
    """How far each register has advanced since 00:00 at the start of interval `index`, plus `partial`
    energy per channel into that interval.

    Rate registers take the floors of the running energy at their TOU block edges, so the four rates
    always add up to the total exactly.
    """
    cumulative = ledger.cumulative
    if partial is None:
        ends = [math.floor(channel[index]) for channel in cumulative]
    else:
        ends = [math.floor(channel[index] + extra) for channel, extra in zip(cumulative, partial, strict=True)]
    by_rate = [0] * 8
    for start, end, rate in blocks:
        if start > index or (start == index and partial is None):
            continue
        for channel, offset in ((0, 0), (1, 4)):
            running = cumulative[channel]
            high = math.floor(running[end]) if end <= index else ends[channel]
            by_rate[offset + rate - 1] += high - math.floor(running[start])
    return (*ends, *by_rate)


def add(left: Totals, right: Totals) -> Totals:
    """Element-wise sum of two register tuples."""
    return tuple(a + b for a, b in zip(left, right, strict=True))


def subtract(left: Totals, right: Totals) -> Totals:
    """Element-wise difference of two register tuples."""
    return tuple(a - b for a, b in zip(left, right, strict=True))


class RegisterBook:
    """Checkpoints of register values at day starts, for one meter."""

    __slots__ = ("_first_day", "_kept", "_kept_days", "_latest", "_start_day")

    def __init__(self, start_day: int, start_values: Totals, first_day: int | None = None) -> None:
        """A book whose registers are `start_values` at 00:00 of `start_day`.

        Args:
            start_day: the day whose start values are given.
            start_values: the registers then.
            first_day: the earliest day it answers, rolling backwards from `start_day` (default: `start_day`).

        Raises:
            ValueError: `first_day` is after `start_day`.
        """
        first = start_day if first_day is None else first_day
        if first > start_day:
            raise ValueError("the first day of a register book cannot be after its starting day")
        self._start_day = start_day
        self._first_day = first
        self._kept: dict[int, Totals] = {start_day: start_values}
        self._kept_days = [start_day]
        self._latest: tuple[int, Totals] | None = None

    def at_day_start(self, day: int, day_advance: Callable[[int], Totals]) -> Totals:
        """The registers at 00:00 of `day` (not before the book's first day).

        Args:
            day: the day index.
            day_advance: how much the registers advance over a whole given day.
        """
        if day < self._first_day:
            raise ValueError("the meter was not installed on that day, or its registers are not rolled that far")
        best, totals = self._nearest(day)
        if best <= day:
            for current in range(best, day):
                totals = add(totals, day_advance(current))
                self._keep(current + 1, totals)
        else:
            for current in range(best - 1, day - 1, -1):
                totals = subtract(totals, day_advance(current))
                self._keep(current, totals)
        if day != best:
            self._latest = (day, totals)
        return totals

    def forget_after(self, second: int) -> None:
        """Drop checkpoints that could include anything at or after `second` (history from there changed).

        The starting checkpoint stays: it is where the book starts, given, not rolled. Checkpoints before it were
        rolled backwards from it, so a change must not fall before the starting day (the meter model refuses one).
        """
        for day in [day for day in self._kept_days if day * DAY_SECONDS > second and day != self._start_day]:
            del self._kept[day]
            self._kept_days.remove(day)
        if self._latest is not None and self._latest[0] * DAY_SECONDS > second:
            self._latest = None

    def _nearest(self, day: int) -> tuple[int, Totals]:
        """The known day start closest to `day`: a kept checkpoint on either side, or the latest read."""
        position = bisect_right(self._kept_days, day)
        options = [self._kept_days[index] for index in (position - 1, position) if 0 <= index < len(self._kept_days)]
        best = min(options, key=lambda known: abs(known - day))
        totals = self._kept[best]
        latest = self._latest
        if latest is not None and abs(latest[0] - day) < abs(best - day):
            best, totals = latest
        return best, totals

    def _keep(self, day: int, totals: Totals) -> None:
        if (day - self._start_day) % _KEEP_EVERY == 0 and day not in self._kept:
            self._kept[day] = totals
            insort(self._kept_days, day)
