"""Push counter claims: above the last accepted counter or refused, in arrival order, once across instances."""

from __future__ import annotations

import asyncio

import pytest

from hes.connectivity.push_counters import PushCounterClaims
from hes.db.engine import make_engine, make_session_factory
from hes.db.store.meter_identity import settle_push_counters
from hes.db.tables import Meter
from hes.runtime import Runtime
from tests.ingest.fleet import add_meters


async def _meters(runtime: Runtime, count: int) -> list[int]:
    return list((await add_meters(runtime, [f"PUSH-{number}" for number in range(count)])).values())


async def test_a_counter_is_accepted_once_and_only_above_the_last(runtime: Runtime) -> None:
    (meter_id,) = await _meters(runtime, 1)
    claims = PushCounterClaims(runtime.sessions)
    answers = [await claims.claim(meter_id, counter) for counter in (1, 1, 3, 2, 4)]
    assert answers == [True, False, True, False, True]
    async with runtime.sessions() as session:
        stored = await session.get(Meter, meter_id)
        assert stored is not None and stored.dlms_push_counter == 4
    assert await PushCounterClaims(runtime.sessions).claim(meter_id, 4) is False  # a restart remembers


async def test_claims_arriving_together_are_settled_in_arrival_order(runtime: Runtime) -> None:
    first, second = await _meters(runtime, 2)
    claims = PushCounterClaims(runtime.sessions)
    wanted = [(first, 5), (first, 5), (second, 1), (first, 7), (first, 6), (second, 1)]
    answers = await asyncio.gather(*(claims.claim(meter_id, counter) for meter_id, counter in wanted))
    assert answers == [True, False, True, True, False, False]
    await claims.close()


async def test_two_instances_given_the_same_push_accept_it_once(runtime: Runtime, second_instance: Runtime) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("instances share only a PostgreSQL database (SQLite is one process, with one claims queue)")
    (meter_id,) = await _meters(runtime, 1)
    async with runtime.sessions() as here, second_instance.sessions() as there:
        assert await settle_push_counters(here, [(meter_id, 5)]) == [True]
        # The other instance settles the same push while the first has not committed yet: it must wait for it.
        racing = asyncio.create_task(settle_push_counters(there, [(meter_id, 5)]))
        await asyncio.sleep(0.1)
        await here.commit()
        assert await racing == [False]
        await there.commit()


async def test_an_unreachable_database_fails_the_claim(runtime: Runtime) -> None:
    engine = make_engine("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")  # nothing listens on port 1
    try:
        with pytest.raises(OSError):
            await PushCounterClaims(make_session_factory(engine)).claim(1, 1)
    finally:
        await engine.dispose()
