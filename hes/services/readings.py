"""Readings: a meter's measured values as people ask for them, and the upkeep of their monthly partitions."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hes.db.enums import ReadingQuality, ReadingSource
from hes.db.store import obis_codes, partitions, readings
from hes.db.store.readings import ReadingRow
from hes.db.tables import utc_now
from hes.errors import InvalidInput, Problem
from hes.obis.codes import ObisCode
from hes.services import meters
from hes.services.listing import Listing, Pagination
from hes.services.principal import Principal

logger = logging.getLogger(__name__)

# A database that does not answer must not hold the whole process at startup.
_STARTUP_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class ReadingView:
    """A reading as people read it: the OBIS code and unit instead of their ids."""

    obis: ObisCode
    timestamp: datetime
    value: float
    unit: str | None
    quality: ReadingQuality
    source: ReadingSource


async def list_readings(
    session: AsyncSession,
    principal: Principal,
    meter_id: int,
    pagination: Pagination,
    obis: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Listing[ReadingView]:
    """One page of a meter's readings, newest first, optionally one OBIS code and a time range (ends included).

    Raises:
        InvalidInput: a malformed or unknown OBIS code, a time without offset, or `start` after `end`.
        NotFound: no such meter, or one the caller may not see.
    """
    code = _check_query(obis, start, end)
    meter = await meters.get_meter(session, principal, meter_id)
    obis_id: int | None = None
    if code is not None:
        obis_id = (await obis_codes.ids_of(session, [code])).get(code)
        if obis_id is None:
            raise InvalidInput("unknown OBIS code", [Problem(f"no readings are ever stored for {code}", field="obis")])
    rows, total = await readings.page(
        session,
        meter.id,
        obis_id=obis_id,
        start=start,
        end=end,
        offset=pagination.offset,
        limit=pagination.limit,
    )
    return Listing(await _views(session, rows), total, pagination)


async def latest_readings(session: AsyncSession, principal: Principal, meter_id: int) -> list[ReadingView]:
    """The newest reading of each OBIS code of a meter, ordered by code.

    Raises:
        NotFound: no such meter, or one the caller may not see.
    """
    meter = await meters.get_meter(session, principal, meter_id)
    views = await _views(session, await readings.latest(session, meter.id))
    return sorted(views, key=lambda view: view.obis)


async def ensure_partitions(session: AsyncSession, around: datetime | None = None) -> list[str]:
    """Create the monthly reading partitions around `around` (default now) that are missing; commits.

    Returns the names of the partitions created (always empty on SQLite).
    """
    created = await partitions.ensure_monthly_partitions(session, around or utc_now())
    await session.commit()
    if created:
        logger.info("created reading partitions %s", ", ".join(created))
    return created


async def ensure_partitions_at_startup(sessions: async_sessionmaker[AsyncSession]) -> None:
    """`ensure_partitions` for the app lifespan: a database that is down is logged, not fatal.

    Readings written before the partitions exist are not lost: they land in the DEFAULT partition
    and move into their month's partition when it is created.
    """
    try:
        async with asyncio.timeout(_STARTUP_TIMEOUT_SECONDS), sessions() as session:
            await ensure_partitions(session)
    except (OSError, DBAPIError, TimeoutError) as error:
        logger.warning("could not prepare the monthly reading partitions at startup: %s", error)


def _check_query(obis: str | None, start: datetime | None, end: datetime | None) -> ObisCode | None:
    problems: list[Problem] = []
    code: ObisCode | None = None
    if obis is not None:
        try:
            code = ObisCode.parse(obis)
        except ValueError as error:
            problems.append(Problem(str(error), field="obis"))
    for name, moment in (("from", start), ("to", end)):
        if moment is not None and moment.utcoffset() is None:
            problems.append(Problem("give the time with its offset, e.g. 2025-01-31T00:00:00Z", field=name))
    if start is not None and end is not None and not problems and start > end:
        problems.append(Problem("'from' is after 'to'", field="from"))
    if problems:
        raise InvalidInput("invalid readings query", problems)
    return code


async def _views(session: AsyncSession, rows: list[ReadingRow]) -> list[ReadingView]:
    known = await obis_codes.entries(session, {row.obis_id for row in rows})
    views: list[ReadingView] = []
    for row in rows:
        entry = known.get(row.obis_id)
        if entry is None:
            # The write path takes ids from obis_codes; an id without a row is a bug upstream, not the reader's.
            logger.error("reading of meter %d refers to unknown OBIS id %d", row.meter_id, row.obis_id)
            continue
        views.append(ReadingView(entry.code, row.ts, row.value, entry.unit, row.quality, row.source))
    return views
