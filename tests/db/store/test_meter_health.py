"""A meter's communication health on its row: forward-only times, failure counts, kept round trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hes.db.store import meter_health
from hes.db.store.meter_health import HealthChange
from hes.db.tables import Meter
from hes.runtime import Runtime

T0 = datetime(2026, 4, 1, 12, tzinfo=UTC)


async def _meter(runtime: Runtime) -> tuple[int, datetime]:
    """A new meter; returns its id and updated_at."""
    async with runtime.sessions() as session:
        meter = Meter(meter_number="HEALTH-1")
        session.add(meter)
        await session.commit()
        return meter.id, meter.updated_at


async def _reload(runtime: Runtime, meter_id: int) -> Meter:
    async with runtime.sessions() as session:
        meter = await session.get(Meter, meter_id)
        assert meter is not None
        return meter


async def test_changes_apply_forward_only_and_count_failures(runtime: Runtime) -> None:
    meter_id, updated_at = await _meter(runtime)
    async with runtime.sessions() as session:
        await meter_health.apply(session, [HealthChange(meter_id, T0, 0, 300)])
        await meter_health.apply(session, [HealthChange(meter_id, None, 2, None)])
        await session.commit()
    meter = await _reload(runtime, meter_id)
    assert (meter.last_seen_at, meter.last_success_at, meter.consecutive_failures, meter.last_round_trip_ms) == (
        T0,
        T0,
        2,
        300,
    )
    async with runtime.sessions() as session:
        await meter_health.apply(session, [HealthChange(meter_id, None, 1, None)])
        # An older success (a late batch) does not move the times back; its failures-after still count.
        await meter_health.apply(session, [HealthChange(meter_id, T0 - timedelta(hours=1), 1, 250)])
        await meter_health.apply(session, [])
        await session.commit()
    meter = await _reload(runtime, meter_id)
    assert (meter.last_seen_at, meter.last_success_at, meter.consecutive_failures, meter.last_round_trip_ms) == (
        T0,
        T0,
        1,
        250,
    )
    assert meter.updated_at == updated_at  # communication is not an edit of the record


async def test_existing_meters_leaves_out_unknown_ids(runtime: Runtime) -> None:
    meter_id, _ = await _meter(runtime)
    async with runtime.sessions() as session:
        assert await meter_health.existing_meters(session, [meter_id, 424_242, meter_id]) == {meter_id}
        assert await meter_health.existing_meters(session, []) == set()
        # More ids than one query takes are asked in several.
        assert await meter_health.existing_meters(session, range(1, 12_000)) == {meter_id}
