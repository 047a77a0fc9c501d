"""Invocation counters: a durable ceiling before any counter is used, written rarely and in one transaction."""

from __future__ import annotations

import asyncio

from hes.connectivity.invocation_counters import FAILED_ASSOCIATION_MARGIN, InvocationCounters
from hes.db.enums import DlmsAuthentication
from hes.runtime import Runtime
from tests.connectivity.fleet import meter_row
from tests.connectivity.targets import target
from tests.ingest.fleet import add_meters


async def test_a_counter_is_only_used_below_a_stored_ceiling_that_only_rises(runtime: Runtime) -> None:
    ids = list((await add_meters(runtime, ["M-1", "M-2"])).values())
    counters = InvocationCounters(runtime.sessions, reserve=100, low_water=10)
    sealed = runtime.secret_box.seal(bytes(16))
    targets = [
        target(id=meter_id, authentication=DlmsAuthentication.HLS_GMAC, block_cipher_key_enc=sealed) for meter_id in ids
    ]
    first = await asyncio.gather(*(counters.take(meter) for meter in targets))  # one transaction for both
    assert first == [0, 0]
    assert [(await meter_row(runtime, meter_id)).dlms_invocation_counter for meter_id in ids] == [100, 100]
    counters.used(ids[0], 50)
    assert await counters.take(targets[0]) == 50  # 50 left below the ceiling: no write
    counters.used(ids[0], 95)
    assert await counters.take(targets[0]) == 95
    assert (await meter_row(runtime, ids[0])).dlms_invocation_counter == 195  # raised ahead of use
    counters.used(ids[0], 20)  # never backwards
    assert counters.next_of(ids[0]) == 95
    counters.failed(ids[0], 95)
    assert counters.next_of(ids[0]) == 95 + FAILED_ASSOCIATION_MARGIN
    restarted = InvocationCounters(runtime.sessions, reserve=100, low_water=10)
    stored = target(id=ids[0], invocation_counter=195, block_cipher_key_enc=sealed)
    assert await restarted.take(stored) == 195  # a new process starts above whatever the old one used
