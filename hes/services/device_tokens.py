"""Device tokens: the bearer secrets meters and gateways send data with. Issued once, rotated, revoked, checked.

A token belongs to one meter (it may send only for that meter) or to a concentrator (a gateway may send
for every meter whose concentrator id matches). Only the SHA-256 of a token is stored. Checked tokens
are remembered for `ttl` seconds, so the ingest hot path does not query per request; revoking forgets
them at once in this process, and other instances within `ttl`.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hes.db.enums import MeterStatus
from hes.db.store import audit
from hes.db.store import device_tokens as store
from hes.db.tables import utc_now
from hes.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound, Problem
from hes.ingest.intake import SenderScope
from hes.services import meters
from hes.services.principal import Principal

# Recognisable in logs and by secret scanners, and told apart from a user's JWT without a lookup.
TOKEN_PREFIX = "hesdt_"
_TOKEN_BYTES = 32  # 256 random bits
_MAX_TOKEN_LENGTH = 128


class DeviceTokenScope(StrEnum):
    """Whom a token is for: the meter itself, or the gateway of the meter's concentrator."""

    METER = "meter"
    CONCENTRATOR = "concentrator"


@dataclass(frozen=True)
class IssuedToken:
    """A new token, the only time its secret is visible."""

    token: str = field(repr=False)
    meter_id: int
    scope: DeviceTokenScope
    concentrator_id: str | None
    created_at: datetime
    rotated: int  # live tokens of the same holder revoked by this issue


def hash_token(token: str) -> str:
    """The stored form of a token.

    SHA-256, not a password hash: the token is 256 random bits, so there is no dictionary to slow an
    attacker down against, and a deliberately slow hash (argon2) would only cost CPU on every request.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class DeviceTokenCache:
    """Recently checked token hashes and whom they belong to, each for `ttl` seconds."""

    def __init__(self, ttl: float, max_entries: int = 100_000) -> None:
        self._ttl = ttl
        self._max_entries = max_entries
        self._entries: dict[str, tuple[SenderScope, float]] = {}
        self._checking: dict[str, asyncio.Future[SenderScope]] = {}

    def get(self, token_hash: str) -> SenderScope | None:
        """The holder of a live token checked less than `ttl` seconds ago, else None."""
        entry = self._entries.get(token_hash)
        if entry is None or time.monotonic() - entry[1] > self._ttl:
            return None
        return entry[0]

    def put(self, token_hash: str, scope: SenderScope) -> None:
        """Remember a token just checked against the database."""
        if len(self._entries) >= self._max_entries:
            self._entries.clear()
        self._entries[token_hash] = (scope, time.monotonic())

    async def checked(self, token_hash: str, check: Callable[[], Awaitable[SenderScope]]) -> SenderScope:
        """The holder from memory, else from `check`, run once for every caller asking about the token meanwhile.

        When a gateway's remembered answer expires under load, hundreds of its requests would otherwise each
        query the database and queue on the same row's last-use update.

        Raises:
            AuthenticationFailed: from `check`, to every caller waiting on it.
        """
        scope = self.get(token_hash)
        if scope is not None:
            return scope
        running = self._checking.get(token_hash)
        if running is None:
            running = self._checking[token_hash] = asyncio.ensure_future(self._check(token_hash, check))
        return await asyncio.shield(running)  # one caller giving up does not cancel the others' check

    async def _check(self, token_hash: str, check: Callable[[], Awaitable[SenderScope]]) -> SenderScope:
        try:
            scope = await check()
        finally:
            del self._checking[token_hash]
        self.put(token_hash, scope)
        return scope

    def forget(self, token_hashes: Iterable[str]) -> None:
        """Forget revoked tokens at once."""
        for token_hash in token_hashes:
            self._entries.pop(token_hash, None)


async def issue(
    session: AsyncSession, principal: Principal, meter_id: int, scope: DeviceTokenScope, cache: DeviceTokenCache
) -> IssuedToken:
    """A new token for the meter (or its concentrator), revoking the holder's previous ones; commits.

    Raises:
        NotFound: no such meter, or one outside the caller's areas.
        Conflict: the meter is decommissioned.
        InvalidInput: a concentrator token for a meter without a concentrator id.
    """
    meter = await meters.get_meter(session, principal, meter_id)
    if meter.status is MeterStatus.DECOMMISSIONED:
        raise Conflict("a decommissioned meter gets no device token")
    holder = _holder(meter.id, meter.concentrator_id, scope)
    now = utc_now()
    revoked = await store.revoke(session, now, **holder)
    token = TOKEN_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)
    store.add(session, hash_token(token), principal.username, now, **holder)
    details = {"scope": scope.value, "concentratorId": holder["concentrator_id"], "rotated": len(revoked)}
    audit.record(session, principal.username, "issue_device_token", "meter", meter.id, details)
    await session.commit()
    cache.forget(revoked)
    return IssuedToken(token, meter.id, scope, holder["concentrator_id"], now, len(revoked))


async def revoke(
    session: AsyncSession, principal: Principal, meter_id: int, scope: DeviceTokenScope, cache: DeviceTokenCache
) -> int:
    """Revoke the live tokens of the meter (or of its concentrator); commits; return how many.

    Raises:
        NotFound: no such meter (or one outside the caller's areas), or no live token to revoke.
        InvalidInput: a concentrator scope for a meter without a concentrator id.
    """
    meter = await meters.get_meter(session, principal, meter_id)
    holder = _holder(meter.id, meter.concentrator_id, scope)
    revoked = await store.revoke(session, utc_now(), **holder)
    if not revoked:
        raise NotFound(f"live {scope.value} device token of meter", meter.id)
    details = {"scope": scope.value, "concentratorId": holder["concentrator_id"], "revoked": len(revoked)}
    audit.record(session, principal.username, "revoke_device_token", "meter", meter.id, details)
    await session.commit()
    cache.forget(revoked)
    return len(revoked)


async def authenticate(sessions: async_sessionmaker[AsyncSession], cache: DeviceTokenCache, token: str) -> SenderScope:
    """Whom a bearer device token belongs to; a recent answer comes from memory.

    Raises:
        AuthenticationFailed: not a device token (a user's JWT included), unknown or revoked.
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > _MAX_TOKEN_LENGTH:
        if token.count(".") == 2:
            raise AuthenticationFailed("a user's access token cannot send meter data; use a device token")
        raise AuthenticationFailed("invalid device token")
    digest = hash_token(token)

    async def look_up() -> SenderScope:
        async with sessions() as session:
            return await _sender_of_hash(session, digest)

    return await cache.checked(digest, look_up)


async def _sender_of_hash(session: AsyncSession, token_hash: str) -> SenderScope:
    grant = await store.use(session, token_hash, utc_now())
    await session.commit()
    if grant is None:
        raise AuthenticationFailed("invalid or revoked device token")
    return SenderScope(meter_id=grant.meter_id, concentrator_id=grant.concentrator_id)


def _holder(meter_id: int, concentrator_id: str | None, scope: DeviceTokenScope) -> store.Holder:
    if scope is DeviceTokenScope.METER:
        return {"meter_id": meter_id, "concentrator_id": None}
    if not concentrator_id:
        problem = Problem("the meter has no concentrator id; set it first", field="scope")
        raise InvalidInput("no concentrator to issue a gateway token for", [problem])
    return {"meter_id": None, "concentrator_id": concentrator_id}
