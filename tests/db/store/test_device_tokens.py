"""Device token rows: one holder each, used while live, revoked per meter or per concentrator."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from hes.db.store import device_tokens
from hes.db.tables import DeviceToken
from hes.runtime import Runtime
from tests.ingest.fleet import add_meters

AT = datetime(2025, 3, 1, tzinfo=UTC)


async def test_a_live_token_is_used_and_a_revoked_one_is_not(runtime: Runtime) -> None:
    meter = (await add_meters(runtime, ["DT-1"], concentrator="GW-1"))["DT-1"]
    async with runtime.sessions() as session:
        device_tokens.add(session, "a" * 64, "alice", AT, meter_id=meter)
        device_tokens.add(session, "b" * 64, "alice", AT, concentrator_id="GW-1")
        await session.commit()
        grant = await device_tokens.use(session, "a" * 64, AT)
        gateway = await device_tokens.use(session, "b" * 64, AT)
        await session.commit()
    assert grant is not None and (grant.meter_id, grant.concentrator_id) == (meter, None)
    assert gateway is not None and (gateway.meter_id, gateway.concentrator_id) == (None, "GW-1")
    async with runtime.sessions() as session:
        assert await device_tokens.revoke(session, AT, meter_id=meter) == ["a" * 64]
        assert await device_tokens.revoke(session, AT, concentrator_id="GW-1") == ["b" * 64]
        await session.commit()
        assert await device_tokens.use(session, "a" * 64, AT) is None
        assert await device_tokens.use(session, "c" * 64, AT) is None
        used = await session.scalar(select(DeviceToken.last_used_at).where(DeviceToken.meter_id == meter))
    assert used == AT


async def test_a_token_has_exactly_one_holder(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        with pytest.raises(ValueError, match="one meter or to one concentrator"):
            device_tokens.add(session, "d" * 64, "alice", AT)
        with pytest.raises(ValueError, match="one meter or to one concentrator"):
            device_tokens.add(session, "d" * 64, "alice", AT, meter_id=1, concentrator_id="GW-1")
