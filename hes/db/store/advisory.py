"""PostgreSQL advisory locks by name: one transaction at a time for work that reads, then writes on what it read."""

from __future__ import annotations

import hashlib

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_LOCK_TRANSACTION = text("SELECT pg_advisory_xact_lock(:key)")


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for `name`, the same in every process and instance."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def lock_transaction(session: AsyncSession, name: str) -> None:
    """Wait for, then hold until the transaction ends, the lock `name` (PostgreSQL; SQLite has one writer anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_LOCK_TRANSACTION, {"key": lock_key(name)})
