"""Polling: which meters are due in a tick, per group schedule, spread over each interval by a hash of their id.

Each meter of a group is due once per interval of each kind, at its own offset in the interval
(hes.db.store.meter_links.spread_offset), so a fleet polled every 15 minutes is read evenly across the 15
minutes instead of all at the top of the hour. A tick covers [slot, slot + tick): the meters due in it are found
in SQL, per group and kind, and a meter due for several kinds in the same tick gets them in one visit.

The tick runs as a hes.jobs Job (see hes.connectivity.service): on PostgreSQL one instance runs each slot (an
advisory lock), so several HES instances never poll the same meter twice; a tick missed while no instance was up
is skipped, and its meters are polled at their next offset.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hes.connectivity.catalogue import CollectionKind
from hes.connectivity.meter_links import ACTIVE_STATUSES, POLLED_MODES
from hes.connectivity.polling_groups import PollingGroup
from hes.db.store import areas as area_store
from hes.db.store import meter_links
from hes.db.store.meter_links import GroupFilter
from hes.services import areas

__all__ = ["due_collections", "group_filters"]

logger = logging.getLogger(__name__)


async def group_filters(session: AsyncSession, groups: Sequence[PollingGroup]) -> list[GroupFilter]:
    """Each group as SQL conditions: its brand, and its area with the sub-areas (an unknown area matches none)."""
    filters = []
    for group in groups:
        area_ids: frozenset[int] | None = None
        if group.area is not None:
            area = await area_store.by_code_or_name(session, group.area)
            if area is None:
                logger.warning("polling group %s: no area %r; the group matches no meter", group.name, group.area)
                area_ids = frozenset()
            else:
                area_ids = await areas.area_with_descendants(session, area.id)
        filters.append(GroupFilter(group.brand, area_ids))
    return filters


async def due_collections(
    session: AsyncSession, groups: Sequence[PollingGroup], slot: datetime, tick: float
) -> dict[frozenset[CollectionKind], list[int]]:
    """The meters due in [slot, slot + tick), grouped by the kinds each is due for."""
    filters = await group_filters(session, groups)
    window_start = int(slot.timestamp())
    kinds_of: dict[int, set[CollectionKind]] = defaultdict(set)
    for index, group in enumerate(groups):
        for kind, interval in group.intervals.items():
            due = await meter_links.due_meters(
                session,
                modes=POLLED_MODES,
                statuses=ACTIVE_STATUSES,
                group=filters[index],
                earlier=filters[:index],
                interval=interval,
                window_start=window_start,
                window=min(max(int(tick), 1), interval),
            )
            for meter_id in due:
                kinds_of[meter_id].add(kind)
    grouped: dict[frozenset[CollectionKind], list[int]] = defaultdict(list)
    for meter_id, kinds in kinds_of.items():
        grouped[frozenset(kinds)].append(meter_id)
    return dict(grouped)
