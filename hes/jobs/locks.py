"""PostgreSQL session-level advisory locks on a connection of their own: one HES instance runs a job's slot."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

logger = logging.getLogger(__name__)

_TRY_LOCK = text("SELECT pg_try_advisory_lock(:key)")
_UNLOCK = text("SELECT pg_advisory_unlock(:key)")


@asynccontextmanager
async def advisory_lock(engine: AsyncEngine, key: int) -> AsyncIterator[bool]:
    """Try the advisory lock `key` on a dedicated connection; yield whether this process holds it.

    The lock is held until the block ends, whatever the block's own transactions do (it belongs to the
    connection, not to a transaction). If it cannot be released cleanly (a broken connection, a cancellation
    in the middle), the connection is discarded instead of going back to the pool, since PostgreSQL releases
    a session's locks when the session ends: a pooled connection must never keep one.

    Raises:
        SQLAlchemyError, OSError: the database cannot be reached.
    """
    async with engine.connect() as connection:
        # Autocommit: the connection must not sit idle in a transaction while the job runs.
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        held = bool(await connection.scalar(_TRY_LOCK, {"key": key}))
        try:
            yield held
        finally:
            if held:
                await _release(connection, key)


async def _release(connection: AsyncConnection, key: int) -> None:
    released = False
    try:
        released = bool(await connection.scalar(_UNLOCK, {"key": key}))
    finally:
        if not released:
            logger.warning("advisory lock %d not released cleanly; discarding its connection", key)
            await connection.invalidate()
