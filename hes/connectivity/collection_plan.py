"""Where each meter's next profile and event log read starts: right after what is already stored.

A load profile is read from the meter's newest stored interval (within the gap window: older holes are gap
detection's), else from a day back; event logs from its newest event from a log, else a day back. Both are
looked up for a whole polling wave in one query each, before any session opens.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from hes.connectivity.catalogue import capture_period, profile_channel
from hes.connectivity.meter_links import MeterTarget
from hes.db.store import meter_links, obis_codes
from hes.obis.codes import ObisCode

__all__ = ["event_starts", "profile_starts"]

_AFTER = timedelta(seconds=1)  # a range starts just after the stored entry: it is not read again


async def profile_starts(
    session: AsyncSession, targets: Sequence[MeterTarget], now: datetime, window: timedelta
) -> dict[int, datetime]:
    """For meters with load profile intervals stored in the window: just after the newest one."""
    by_channel: dict[tuple[ObisCode, int], list[int]] = defaultdict(list)
    for target in targets:
        channel = profile_channel(target.brand)
        if channel is not None:
            by_channel[(channel, capture_period(target.brand))].append(target.meter_id)
    ids = await obis_codes.ids_of(session, {channel for channel, _ in by_channel})
    starts: dict[int, datetime] = {}
    for (channel, period), meter_ids in by_channel.items():
        obis_id = ids.get(channel)
        if obis_id is None:
            continue  # nothing of that code is stored anywhere yet
        found = await meter_links.last_profile_intervals(session, meter_ids, obis_id, now - window, period)
        starts.update((meter_id, newest + _AFTER) for meter_id, newest in found.items())
    return starts


async def event_starts(
    session: AsyncSession, targets: Sequence[MeterTarget], now: datetime, window: timedelta
) -> dict[int, datetime]:
    """For meters with events from their logs in the window: the newest one's time (repeats are not stored)."""
    return await meter_links.last_meter_events(session, [target.meter_id for target in targets], now - window)
