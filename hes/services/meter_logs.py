"""What the logs kept about meters (events, alerts) share as people read them: filters, pages and downloads."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.enums import Severity
from hes.db.store.meter_logs import LogCriteria, MeterLog
from hes.errors import InvalidInput, Problem
from hes.services import areas
from hes.services.listing import Listing, Pagination
from hes.services.principal import Principal

CriteriaT = TypeVar("CriteriaT")
RecordT = TypeVar("RecordT")
ViewT = TypeVar("ViewT")


@dataclass(frozen=True)
class LogFilters:
    """What any meter log list or download is narrowed to, as the caller gives it; each log adds its own."""

    meter_id: int | None = None
    meter_number: str | None = None
    area: str | None = None
    severities: frozenset[Severity] = frozenset()
    start: datetime | None = None
    end: datetime | None = None


def check_time_range(start: datetime | None, end: datetime | None) -> None:
    """Refuse times without an offset and a range that ends before it starts, listing every problem.

    Raises:
        InvalidInput: one problem per fault, on the wire names `from` and `to`.
    """
    problems = [
        Problem("give the time with its offset, e.g. 2025-01-31T00:00:00Z", field=name)
        for name, moment in (("from", start), ("to", end))
        if moment is not None and moment.utcoffset() is None
    ]
    if start is not None and end is not None and not problems and start > end:
        problems.append(Problem("'from' is after 'to'", field="from"))
    if problems:
        raise InvalidInput("invalid time range", problems)


async def log_criteria(session: AsyncSession, principal: Principal, filters: LogFilters) -> LogCriteria:
    """The store criteria for `filters`, the area narrowed to the caller's areas.

    Raises:
        InvalidInput: an unknown area, a time without offset, `start` after `end`.
    """
    check_time_range(filters.start, filters.end)
    area_ids = await areas.resolve_area_filter(session, principal, filters.area)
    return LogCriteria(
        meter_id=filters.meter_id,
        meter_number=filters.meter_number,
        area_ids=area_ids,
        severities=filters.severities,
        start=filters.start,
        end=filters.end,
    )


async def page_of(
    log: MeterLog[CriteriaT, RecordT],
    view: Callable[[RecordT], ViewT],
    session: AsyncSession,
    criteria: CriteriaT | None,
    pagination: Pagination,
    sort: str | None,
) -> Listing[ViewT]:
    """One page of `log` as views; None criteria (the caller may see none of it) give an empty page.

    Raises:
        InvalidInput: an unknown sort key, criteria or not.
    """
    if criteria is None:
        log.check_sort(sort)
        return Listing([], 0, pagination)
    records, total = await log.page(session, criteria, sort=sort, offset=pagination.offset, limit=pagination.limit)
    return Listing([view(record) for record in records], total, pagination)


async def views_of(
    log: MeterLog[CriteriaT, RecordT],
    view: Callable[[RecordT], ViewT],
    session: AsyncSession,
    criteria: CriteriaT | None,
    sort: str | None,
) -> AsyncIterator[ViewT]:
    """Every record of `log` matching `criteria`, in `sort` order, as views; nothing for None criteria."""
    if criteria is None:
        return
    async for record in log.stream(session, criteria, sort=sort):
        yield view(record)
