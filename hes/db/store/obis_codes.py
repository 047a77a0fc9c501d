"""SQL for the OBIS code lookup: each reading stores a 2-byte id instead of the code's text."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.tables import ObisCode as ObisCodeRow
from hes.obis.codes import ObisCode


@dataclass(frozen=True)
class ObisDescription:
    """What a person reads next to a code: its name and unit (both optional)."""

    name: str | None = None
    unit: str | None = None


@dataclass(frozen=True)
class ObisEntry:
    """One row of the lookup: the id readings store, the code, its name and unit."""

    id: int
    code: ObisCode
    name: str | None
    unit: str | None


async def ids_of(session: AsyncSession, codes: Iterable[ObisCode]) -> dict[ObisCode, int]:
    """The ids of those `codes` that are known; unknown codes are left out (nothing is created)."""
    wanted = {str(code): code for code in codes}
    if not wanted:
        return {}
    rows = await session.execute(select(ObisCodeRow.code, ObisCodeRow.id).where(ObisCodeRow.code.in_(wanted)))
    return {wanted[text]: obis_id for text, obis_id in rows.tuples()}


async def get_or_create_ids(
    session: AsyncSession,
    codes: Iterable[ObisCode],
    descriptions: Mapping[ObisCode, ObisDescription] | None = None,
) -> dict[ObisCode, int]:
    """The id of every code in `codes`, adding the missing ones (with their description, if given).

    Safe against a concurrent writer adding the same code: the insert skips conflicts and the ids
    are read back afterwards. Existing rows keep their name and unit.
    """
    wanted = set(codes)
    found = await ids_of(session, wanted)
    missing = sorted(wanted - found.keys())
    if not missing:
        return found
    # Only the missing codes are inserted: ON CONFLICT still draws a sequence value per row, and the
    # smallint id has room for 32,767 codes, so repeats must not burn ids.
    described = descriptions or {}
    values = [
        {
            "code": str(code),
            "name": described.get(code, ObisDescription()).name,
            "unit": described.get(code, ObisDescription()).unit,
        }
        for code in missing
    ]
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(insert(ObisCodeRow).values(values).on_conflict_do_nothing(index_elements=["code"]))
    return found | await ids_of(session, missing)


async def entries(session: AsyncSession, ids: Collection[int] | None = None) -> dict[int, ObisEntry]:
    """Lookup rows by id: those in `ids`, or all of them (the table holds at most a few hundred codes)."""
    query = select(ObisCodeRow)
    if ids is not None:
        if not ids:
            return {}
        query = query.where(ObisCodeRow.id.in_(ids))
    rows = await session.scalars(query)
    return {row.id: ObisEntry(row.id, ObisCode.parse(row.code), row.name, row.unit) for row in rows}
