"""Load-profile gap detection: missing intervals between stored ones in the last days, to collect again.

A hole is a run of interval ends with no reading of the profile's first channel between two that have one; a run
is one range (adjacent missing intervals merged), so it costs one read by range. The newest holes go first and a
meter gets at most `max_intervals` intervals per run (the run is daily), so a meter with a long outage catches up
over a few days instead of flooding the queue. Holes before the first stored interval are not gaps (a new meter,
or one whose history is older than the window); what is newer than the last stored one is the next poll's.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from hes.connectivity.catalogue import capture_period, profile_channel
from hes.connectivity.meter_links import MeterTarget
from hes.db.store import meter_links, obis_codes
from hes.obis.codes import ObisCode

__all__ = ["Gap", "find_gaps", "missing_ranges"]


@dataclass(frozen=True, slots=True)
class Gap:
    """Missing interval ends from `start` to `end` (both included), `intervals` of them."""

    start: datetime
    end: datetime
    intervals: int


def missing_ranges(stored: Sequence[datetime], period: timedelta, max_intervals: int) -> list[Gap]:
    """The holes between stored interval ends, newest first, at most `max_intervals` intervals together.

    A hole longer than what is left of the bound is cut to its newest intervals.
    """
    ordered = sorted(set(stored))
    holes = []
    for before, after in itertools.pairwise(ordered):
        missing = round((after - before) / period) - 1
        if missing > 0:
            holes.append(Gap(before + period, after - period, missing))
    chosen: list[Gap] = []
    left = max_intervals
    for hole in reversed(holes):
        if left <= 0:
            break
        if hole.intervals > left:
            hole = Gap(hole.end - period * (left - 1), hole.end, left)
        chosen.append(hole)
        left -= hole.intervals
    return chosen


async def find_gaps(
    session: AsyncSession, targets: Sequence[MeterTarget], now: datetime, window: timedelta, max_intervals: int
) -> dict[int, list[Gap]]:
    """Each meter's holes in the last `window` (meters without any are left out)."""
    groups: dict[tuple[ObisCode, int], list[MeterTarget]] = defaultdict(list)
    for target in targets:
        channel = profile_channel(target.brand)
        if channel is not None:
            groups[(channel, capture_period(target.brand))].append(target)
    gaps: dict[int, list[Gap]] = {}
    for (channel, period), members in groups.items():
        obis_id = (await obis_codes.ids_of(session, [channel])).get(channel)
        if obis_id is None:
            continue
        times = await meter_links.profile_times(
            session, [target.meter_id for target in members], obis_id, now - window, now, period
        )
        for meter_id, stored in times.items():
            holes = missing_ranges(stored, timedelta(seconds=period), max_intervals)
            if holes:
                gaps[meter_id] = holes
    return gaps
