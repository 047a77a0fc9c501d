"""Sorting and free-text search shared by the store modules' list queries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from hes.errors import InvalidInput, Problem

SortColumns = Mapping[str, InstrumentedAttribute[Any]]
RowT = TypeVar("RowT")


def order_by(sort: str | None, columns: SortColumns, default: str) -> list[ColumnElement[Any]]:
    """ORDER BY terms for `sort`, e.g. "-lastSeenAt,meterNumber" (a leading "-" sorts descending).

    Raises:
        InvalidInput: a sort key is not one of `columns`; every unknown key is listed.
    """
    terms: list[ColumnElement[Any]] = []
    problems: list[Problem] = []
    for key in (sort or default).split(","):
        name = key.strip().lstrip("-")
        column = columns.get(name)
        if column is None:
            allowed = ", ".join(sorted(columns))
            problems.append(Problem(f"cannot sort by {name!r}; use one of: {allowed}", field="sort"))
            continue
        terms.append(column.desc() if key.strip().startswith("-") else column.asc())
    if problems:
        raise InvalidInput("invalid sort", problems)
    return terms


def matching_text(search: str, columns: Sequence[InstrumentedAttribute[Any]]) -> ColumnElement[bool]:
    """Case-insensitive "contains" over several text columns (LIKE wildcards in `search` are literal)."""
    escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    return or_(*(func.lower(column).like(pattern, escape="\\") for column in columns))


async def fetch_page(
    session: AsyncSession,
    query: Select[tuple[RowT]],
    order: list[ColumnElement[Any]],
    offset: int,
    limit: int,
) -> tuple[list[RowT], int]:
    """One page of `query` in `order`, with the count of all its rows."""
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = await session.scalars(query.order_by(*order).offset(offset).limit(limit))
    return list(rows), int(total or 0)
