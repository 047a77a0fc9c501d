"""Existence checks shared by the store modules: is a natural key taken, does any row refer to a record."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute


async def any_row(session: AsyncSession, queries: Iterable[Select[Any]]) -> bool:
    """True when at least one of `queries` finds a row (each asks for one row at most, in order)."""
    for query in queries:
        if await session.scalar(query.limit(1)) is not None:
            return True
    return False


async def key_taken(
    session: AsyncSession,
    key_column: InstrumentedAttribute[Any],
    value: str,
    id_column: InstrumentedAttribute[int],
    except_id: int | None = None,
) -> bool:
    """True when another record (not `except_id`) has `value` in `key_column`, compared case-insensitively."""
    query = select(id_column).where(func.lower(key_column) == value.lower())
    if except_id is not None:
        query = query.where(id_column != except_id)
    return await any_row(session, [query])
