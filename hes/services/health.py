"""Health check of the process and its database."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from hes import __version__

logger = logging.getLogger(__name__)

# A health probe must answer quickly even when the database hangs.
_DATABASE_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class HealthReport:
    """Outcome of one health check."""

    healthy: bool
    database: str
    version: str = __version__


async def check(engine: AsyncEngine) -> HealthReport:
    """Run `SELECT 1` on the database within a short timeout."""
    try:
        async with asyncio.timeout(_DATABASE_TIMEOUT_SECONDS), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError, TimeoutError) as error:
        logger.warning("health check: database unavailable: %s", error)
        return HealthReport(healthy=False, database="unavailable")
    return HealthReport(healthy=True, database="ok")
