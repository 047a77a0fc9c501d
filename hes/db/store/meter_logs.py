"""Reads the logs kept about meters (events, alerts) share: meter facts joined, meter filters, sort, page, stream."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import ColumnElement, Row, Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from hes.db.enums import Severity
from hes.db.store.listing import SortColumns, order_by
from hes.db.tables import Area, Meter

# Severity as its rank, so "-severity" puts critical first (the stored text would sort alphabetically).
SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2, Severity.CRITICAL: 3}

CriteriaT = TypeVar("CriteriaT")
RecordT = TypeVar("RecordT")
JoinedT = TypeVar("JoinedT", bound=tuple[Any, ...])


@dataclass(frozen=True)
class LogCriteria:
    """What every meter log query may be narrowed to; None leaves a criterion out, an empty area set matches nothing."""

    meter_id: int | None = None
    meter_number: str | None = None
    area_ids: frozenset[int] | None = None
    severities: frozenset[Severity] = frozenset()
    start: datetime | None = None
    end: datetime | None = None


def severity_rank(severity: InstrumentedAttribute[Severity]) -> InstrumentedAttribute[Any]:
    """A sort column for `severity` by rank (see SEVERITY_RANK)."""
    rank = case(*((severity == level, rank) for level, rank in SEVERITY_RANK.items()), else_=-1)
    # A CASE expression sorts like a column; order_by only calls .asc()/.desc() on it.
    return cast(InstrumentedAttribute[Any], rank)


def with_meter(query: Select[JoinedT], meter_id: InstrumentedAttribute[int | None]) -> Select[JoinedT]:
    """`query` joined to the record's meter and that meter's area.

    Outer joins: a record about no meter (or a meter in no area) has NULLs where the columns are NOT NULL.
    """
    return query.outerjoin(Meter, meter_id == Meter.id).outerjoin(Area, Meter.area_id == Area.id)


def common_conditions(
    meter_id: InstrumentedAttribute[int | None], severity: InstrumentedAttribute[Severity], criteria: LogCriteria
) -> list[ColumnElement[bool]]:
    """The conditions for the meter, area and severity criteria of a log with these columns (times are the log's)."""
    conditions: list[ColumnElement[bool]] = []
    if criteria.meter_id is not None:
        conditions.append(meter_id == criteria.meter_id)
    if criteria.meter_number:
        # Meter numbers are one meter whatever their case (see meters.number_exists).
        conditions.append(func.lower(Meter.meter_number) == criteria.meter_number.lower())
    if criteria.area_ids is not None:
        conditions.append(Meter.area_id.in_(criteria.area_ids))
    if criteria.severities:
        conditions.append(severity.in_(criteria.severities))
    return conditions


@dataclass(frozen=True)
class MeterLog(Generic[CriteriaT, RecordT]):
    """How one meter log is read: its columns, its joined select, its criteria as conditions, its records."""

    record_id: InstrumentedAttribute[int]
    meter_id: InstrumentedAttribute[int | None]
    joined: Callable[[], Select[Any]]
    conditions: Callable[[CriteriaT], list[ColumnElement[bool]]]
    record: Callable[[Row[Any]], RecordT]
    sort_columns: SortColumns
    default_sort: str

    def check_sort(self, sort: str | None) -> None:
        """Refuse an unknown sort key before a download starts streaming.

        Raises:
            InvalidInput: every unknown key.
        """
        self._order(sort)

    async def page(
        self, session: AsyncSession, criteria: CriteriaT, *, sort: str | None, offset: int, limit: int
    ) -> tuple[list[RecordT], int]:
        """Records matching `criteria`, one page in `sort` order (else the log's default), with the total.

        Raises:
            InvalidInput: an unknown sort key.
        """
        order = self._order(sort)
        conditions = self.conditions(criteria)
        # Only the meter is joined for the count: the area join cannot change it.
        counted = (
            select(func.count())
            .select_from(self.record_id.class_)
            .outerjoin(Meter, self.meter_id == Meter.id)
            .where(*conditions)
        )
        total = await session.scalar(counted)
        rows = await session.execute(self.joined().where(*conditions).order_by(*order).offset(offset).limit(limit))
        return [self.record(row) for row in rows], int(total or 0)

    async def stream(
        self, session: AsyncSession, criteria: CriteriaT, *, sort: str | None, chunk: int = 1000
    ) -> AsyncIterator[RecordT]:
        """Every record matching `criteria` in `sort` order, fetched `chunk` rows at a time (bounded memory)."""
        query = self.joined().where(*self.conditions(criteria)).order_by(*self._order(sort))
        result = await session.stream(query.execution_options(yield_per=chunk))
        async for row in result:
            yield self.record(row)

    def _order(self, sort: str | None) -> list[ColumnElement[Any]]:
        # The id breaks ties, so pages never overlap and the newest of equal times comes first.
        return [*order_by(sort, self.sort_columns, self.default_sort), self.record_id.desc()]
