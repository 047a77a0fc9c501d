"""Readings service: the monthly partitions are prepared when the app starts, and a database outage only warns."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI

from hes.db.engine import make_engine, make_session_factory
from hes.db.store import partitions
from hes.runtime import Runtime
from hes.services import readings as readings_service


async def test_app_startup_prepares_this_months_partition(runtime: Runtime, app: FastAPI) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("partitions exist only on PostgreSQL")
    assert partitions.partition_name(partitions.month_start(datetime.now(UTC))) in await _existing_partitions(runtime)


async def test_startup_with_the_database_down_only_warns(caplog: pytest.LogCaptureFixture) -> None:
    engine = make_engine("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")  # nothing listens on port 1
    try:
        with caplog.at_level(logging.WARNING, logger="hes.services.readings"):
            await readings_service.ensure_partitions_at_startup(make_session_factory(engine))
    finally:
        await engine.dispose()
    assert "could not prepare the monthly reading partitions" in caplog.text


async def _existing_partitions(runtime: Runtime) -> set[str]:
    async with runtime.sessions() as session:
        return set(await partitions.monthly_partitions(session))
