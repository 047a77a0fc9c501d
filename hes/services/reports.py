"""Reports for download: the online-rate report per area, and consumption series as rows."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.store import dashboard as store
from hes.services import consumption
from hes.services.consumption import IN_SERVICE, ConsumptionRequest, ConsumptionSeries
from hes.services.principal import Principal

TOTAL = "TOTAL"


@dataclass(frozen=True, slots=True)
class OnlineRateRow:
    """One area's meters in service: total, never online (never heard from), online now, offline.

    Each area counts its own meters (sub-areas have rows of their own); the last row sums every row.
    """

    area_code: str | None
    area_name: str | None
    parent_code: str | None
    total: int
    never_online: int
    online: int
    offline: int

    @property
    def online_rate(self) -> float | None:
        """Meters online now per meter in service, 0 to 1; None for an area without meters in service."""
        return self.online / self.total if self.total else None


async def online_rate(session: AsyncSession, principal: Principal, area: str | None = None) -> list[OnlineRateRow]:
    """The online-rate report: a row per area the caller may see (with `area`: it and its sub-areas), then TOTAL.

    Meters in service are those installed, online, offline or faulty (stock and decommissioned meters are left
    out). Meters without an area get a row of their own for callers who see every area.

    Raises:
        NotFound: `area` names no area the caller may see.
    """
    area_ids = principal.area_ids or None
    if area is not None:
        _, area_ids = await consumption.resolve_area(session, principal, area)
    counts = {row.area_id: row for row in await store.online_counts(session, area_ids, IN_SERVICE)}
    rows = [
        _row(area_row.code, area_row.name, area_row.parent_code, counts.get(area_row.id))
        for area_row in await store.areas(session, area_ids)
    ]
    if area_ids is None and None in counts:
        rows.append(_row(None, None, None, counts[None]))
    total = OnlineRateRow(
        TOTAL,
        None,
        None,
        sum(row.total for row in rows),
        sum(row.never_online for row in rows),
        sum(row.online for row in rows),
        sum(row.offline for row in rows),
    )
    return [*rows, total]


def _row(code: str | None, name: str | None, parent: str | None, counts: store.OnlineCounts | None) -> OnlineRateRow:
    if counts is None:
        return OnlineRateRow(code, name, parent, 0, 0, 0, 0)
    return OnlineRateRow(code, name, parent, counts.total, counts.never_online, counts.online, counts.offline)


async def consumption_report(
    session: AsyncSession, principal: Principal, request: ConsumptionRequest
) -> ConsumptionSeries:
    """The consumption series of `request`, checked before any row is sent (see `consumption.consumption`)."""
    return await consumption.consumption(session, principal, request)
