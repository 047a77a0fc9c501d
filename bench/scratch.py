"""A scratch PostgreSQL database for one benchmark run: created, migrated to head, dropped afterwards.

The server is postgresql://postgres@127.0.0.1:5432 unless HES_BENCH_POSTGRES_DSN names another maintenance
database to connect to.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints

from hes.db.migrate import upgrade

ADMIN_DSN = os.environ.get("HES_BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


@dataclass(frozen=True)
class Scratch:
    """The scratch database: its name, its DSN (asyncpg) and its SQLAlchemy URL."""

    name: str
    dsn: str
    url: str


async def admin(statement: str) -> None:
    """Run one statement on the server's maintenance database."""
    connection = await asyncpg.connect(ADMIN_DSN)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def scratch_database(kind: str) -> Iterator[Scratch]:
    """A new database for a `kind` benchmark, migrated to head; dropped on exit (outside any event loop)."""
    name = f"hes_bench_{kind}_{os.getpid()}_{secrets.token_hex(3)}"
    dsn = f"{ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        upgrade(dsn.replace("postgresql://", "postgresql+asyncpg://", 1))
        yield Scratch(name, dsn, dsn.replace("postgresql://", "postgresql+asyncpg://", 1))
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
