"""OBIS code ids: get-or-create is idempotent, keeps descriptions, and is safe against a concurrent writer."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from hes.db.store import obis_codes
from hes.db.store.obis_codes import ObisDescription
from hes.db.tables import ObisCode as ObisCodeRow
from hes.obis import ObisCode
from hes.runtime import Runtime

ENERGY = ObisCode.parse("1-0:1.8.0.255")
VOLTAGE = ObisCode.parse("1-0:32.7.0.255")
CURRENT = ObisCode.parse("1-0:31.7.0.255")


async def _count(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ObisCodeRow)) or 0)


async def test_get_or_create_gives_stable_ids_and_creates_each_code_once(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        first = await obis_codes.get_or_create_ids(session, [ENERGY, VOLTAGE, ENERGY])
        await session.commit()
    async with runtime.sessions() as session:
        again = await obis_codes.get_or_create_ids(session, [VOLTAGE, CURRENT, ENERGY])
        await session.commit()
    assert set(first) == {ENERGY, VOLTAGE}
    assert again[ENERGY] == first[ENERGY] and again[VOLTAGE] == first[VOLTAGE]
    assert len(set(again.values())) == 3
    assert await _count(runtime) == 3


async def test_descriptions_are_stored_on_creation_and_never_overwritten(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        ids = await obis_codes.get_or_create_ids(
            session, [ENERGY], {ENERGY: ObisDescription("Active energy import (+A)", "kWh")}
        )
        await obis_codes.get_or_create_ids(session, [ENERGY], {ENERGY: ObisDescription("other", "Wh")})
        await session.commit()
        entry = (await obis_codes.entries(session, [ids[ENERGY]]))[ids[ENERGY]]
    assert (entry.code, entry.name, entry.unit) == (ENERGY, "Active energy import (+A)", "kWh")


async def test_ids_of_leaves_unknown_codes_out_and_creates_nothing(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        await obis_codes.get_or_create_ids(session, [ENERGY])
        await session.commit()
        known = await obis_codes.ids_of(session, [ENERGY, VOLTAGE])
        assert await obis_codes.ids_of(session, []) == {}
        assert await obis_codes.get_or_create_ids(session, []) == {}
        assert await obis_codes.entries(session, []) == {}
    assert set(known) == {ENERGY}
    assert await _count(runtime) == 1


async def test_a_concurrent_writer_of_the_same_code_gets_the_same_id(runtime: Runtime) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time; the race exists only on PostgreSQL")
    async with runtime.sessions() as first, runtime.sessions() as second:
        mine = await obis_codes.get_or_create_ids(first, [ENERGY])
        # The second insert waits on the first one's uncommitted row, then skips it and reads it back.
        theirs = asyncio.create_task(obis_codes.get_or_create_ids(second, [ENERGY, VOLTAGE]))
        await asyncio.sleep(0.2)
        assert not theirs.done()
        await first.commit()
        found = await asyncio.wait_for(theirs, timeout=10)
        await second.commit()
    assert found[ENERGY] == mine[ENERGY]
    assert await _count(runtime) == 2
