"""Device tokens: shown once, hashed at rest, rotated by issuing again, revoked, audited, checked from memory."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from sqlalchemy import select

from hes.db.enums import MeterStatus, Role
from hes.db.tables import AuditEntry, DeviceToken
from hes.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound
from hes.runtime import Runtime
from hes.services import device_tokens
from hes.services.device_tokens import DeviceTokenCache, DeviceTokenScope
from hes.services.principal import Principal
from tests.ingest.fleet import add_meters

ADMIN = Principal(user_id=1, username="alice", role=Role.ADMIN)


async def _issue(runtime: Runtime, meter_id: int, scope: DeviceTokenScope, cache: DeviceTokenCache) -> str:
    async with runtime.sessions() as session:
        return (await device_tokens.issue(session, ADMIN, meter_id, scope, cache)).token


async def test_a_token_is_stored_only_as_its_hash_and_checked_from_memory(runtime: Runtime) -> None:
    meter = (await add_meters(runtime, ["ST-1"]))["ST-1"]
    cache = DeviceTokenCache(ttl=60)
    token = await _issue(runtime, meter, DeviceTokenScope.METER, cache)
    async with runtime.sessions() as session:
        stored = list(await session.scalars(select(DeviceToken)))
    assert [row.token_hash for row in stored] == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in {row.token_hash for row in stored}
    scope = await device_tokens.authenticate(runtime.sessions, cache, token)
    assert (scope.meter_id, scope.concentrator_id) == (meter, None)
    assert cache.get(device_tokens.hash_token(token)) == scope


async def test_issuing_again_rotates_and_revoking_stops_the_token_at_once(runtime: Runtime) -> None:
    meter = (await add_meters(runtime, ["ST-2"]))["ST-2"]
    cache = DeviceTokenCache(ttl=60)
    old = await _issue(runtime, meter, DeviceTokenScope.METER, cache)
    await device_tokens.authenticate(runtime.sessions, cache, old)  # now remembered
    new = await _issue(runtime, meter, DeviceTokenScope.METER, cache)
    with pytest.raises(AuthenticationFailed):
        await device_tokens.authenticate(runtime.sessions, cache, old)
    await device_tokens.authenticate(runtime.sessions, cache, new)
    async with runtime.sessions() as session:
        assert await device_tokens.revoke(session, ADMIN, meter, DeviceTokenScope.METER, cache) == 1
    with pytest.raises(AuthenticationFailed):
        await device_tokens.authenticate(runtime.sessions, cache, new)
    async with runtime.sessions() as session:
        with pytest.raises(NotFound):
            await device_tokens.revoke(session, ADMIN, meter, DeviceTokenScope.METER, cache)
        actions = [row.action for row in await session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["issue_device_token", "issue_device_token", "revoke_device_token"]


async def test_a_gateway_token_belongs_to_the_concentrator(runtime: Runtime) -> None:
    ids = await add_meters(runtime, ["ST-3"], concentrator="GW-5")
    ids |= await add_meters(runtime, ["ST-4"])
    cache = DeviceTokenCache(ttl=0)
    token = await _issue(runtime, ids["ST-3"], DeviceTokenScope.CONCENTRATOR, cache)
    scope = await device_tokens.authenticate(runtime.sessions, cache, token)
    assert (scope.meter_id, scope.concentrator_id) == (None, "GW-5")
    with pytest.raises(InvalidInput):
        await _issue(runtime, ids["ST-4"], DeviceTokenScope.CONCENTRATOR, cache)


async def test_user_tokens_and_made_up_tokens_are_refused(runtime: Runtime) -> None:
    cache = DeviceTokenCache(ttl=60)
    with pytest.raises(AuthenticationFailed, match="user's access token"):
        await device_tokens.authenticate(runtime.sessions, cache, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln")
    for made_up in ("", "hesdt_" + "A" * 43, "hesdt_" + "x" * 500, "something else"):
        with pytest.raises(AuthenticationFailed):
            await device_tokens.authenticate(runtime.sessions, cache, made_up)


async def test_no_token_for_decommissioned_or_unknown_meters(runtime: Runtime) -> None:
    meter = (await add_meters(runtime, ["ST-5"], status=MeterStatus.DECOMMISSIONED))["ST-5"]
    cache = DeviceTokenCache(ttl=60)
    with pytest.raises(Conflict):
        await _issue(runtime, meter, DeviceTokenScope.METER, cache)
    with pytest.raises(NotFound):
        await _issue(runtime, 987_654, DeviceTokenScope.METER, cache)


async def test_many_requests_with_an_unremembered_token_check_it_once(runtime: Runtime) -> None:
    meter = (await add_meters(runtime, ["ST-9"]))["ST-9"]
    cache = DeviceTokenCache(ttl=60)
    token = await _issue(runtime, meter, DeviceTokenScope.METER, cache)
    looked_up = 0
    real_sessions = runtime.sessions

    def counting_sessions() -> object:
        nonlocal looked_up
        looked_up += 1
        return real_sessions()

    scopes = await asyncio.gather(
        *(device_tokens.authenticate(counting_sessions, cache, token) for _ in range(50))  # type: ignore[arg-type]
    )
    assert looked_up == 1 and {scope.meter_id for scope in scopes} == {meter}
    with pytest.raises(AuthenticationFailed):  # a refusal reaches every waiting caller, and is not remembered
        await asyncio.gather(*(device_tokens.authenticate(real_sessions, cache, "hesdt_" + "x" * 43) for _ in range(5)))
