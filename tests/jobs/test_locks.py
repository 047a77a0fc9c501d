"""Advisory locks on their own connection: exclusive while held, always released, never left in the pool."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from hes.jobs.locks import advisory_lock
from hes.runtime import Runtime

KEY = 0x5445_5354_4C4F_434B  # "TESTLOCK"


def _postgresql_only(runtime: Runtime) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")


async def test_a_held_lock_is_refused_to_others_until_released(runtime: Runtime) -> None:
    _postgresql_only(runtime)
    async with advisory_lock(runtime.engine, KEY) as held:
        assert held
        async with advisory_lock(runtime.engine, KEY) as second:
            assert not second
        async with advisory_lock(runtime.engine, KEY + 1) as other_key:
            assert other_key
    async with advisory_lock(runtime.engine, KEY) as again:
        assert again


async def test_an_error_in_the_block_releases_the_lock(runtime: Runtime) -> None:
    _postgresql_only(runtime)
    with pytest.raises(RuntimeError):
        async with advisory_lock(runtime.engine, KEY) as held:
            assert held
            raise RuntimeError("job broke")
    async with advisory_lock(runtime.engine, KEY) as again:
        assert again


async def test_a_lock_whose_connection_died_is_not_returned_to_the_pool(runtime: Runtime) -> None:
    _postgresql_only(runtime)
    with pytest.raises(DBAPIError):
        async with advisory_lock(runtime.engine, KEY) as held, runtime.engine.connect() as killer:
            assert held
            holder = await killer.scalar(
                text("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = :low AND classid = :high"),
                {"low": KEY & 0xFFFFFFFF, "high": KEY >> 32},
            )
            await killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": holder})
    # The server ended that session (and its lock); the pool holds no dead connection: the next use works.
    async with advisory_lock(runtime.engine, KEY) as again:
        assert again
    async with runtime.engine.connect() as connection:
        assert await connection.scalar(text("SELECT 1")) == 1
