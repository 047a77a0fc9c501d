"""raise_alerts: one unresolved alert per meter and type, repeats counted, race-free; on the real database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from hes.db.enums import AlertStatus, Severity
from hes.db.store.alerts import ROWS_PER_STATEMENT, AlertRaise, by_ids, raise_alerts
from hes.db.tables import Alert, Meter
from hes.runtime import Runtime

START = datetime(2024, 5, 1, tzinfo=UTC)


async def _meters(runtime: Runtime, count: int = 2) -> list[int]:
    async with runtime.sessions() as session:
        meters = [Meter(meter_number=f"MTR-{index}") for index in range(count)]
        session.add_all(meters)
        await session.commit()
        return [meter.id for meter in meters]


def _raise(
    meter_id: int, alert_type: str = "tamper_cover", *, count: int = 1, at: datetime = START, message: str = "m"
) -> AlertRaise:
    return AlertRaise(meter_id, alert_type, Severity.CRITICAL, message, count, at, at)


async def _raise_now(runtime: Runtime, *raises: AlertRaise) -> list[tuple[int, bool]]:
    async with runtime.sessions() as session:
        raised = await raise_alerts(session, raises)
        await session.commit()
    return [(alert.occurrences, alert.created) for alert in raised]


async def _alerts(runtime: Runtime) -> list[Alert]:
    async with runtime.sessions() as session:
        return list(await session.scalars(select(Alert).order_by(Alert.id)))


async def test_a_repeat_counts_on_the_open_alert_instead_of_opening_another(runtime: Runtime) -> None:
    first, second = await _meters(runtime)
    assert await _raise_now(runtime, _raise(first), _raise(second), _raise(first, "power_failure")) == [
        (1, True),
        (1, True),
        (1, True),
    ]
    later = START + timedelta(hours=1)
    assert await _raise_now(runtime, _raise(first, count=3, at=later, message="newer")) == [(4, False)]
    # A late sighting (backfill) widens the span but keeps the newer message.
    assert await _raise_now(runtime, _raise(first, at=START - timedelta(hours=1), message="older")) == [(5, False)]

    stored = await _alerts(runtime)
    assert len(stored) == 3
    cover = next(alert for alert in stored if alert.meter_id == first and alert.alert_type == "tamper_cover")
    assert (cover.occurrences, cover.status, cover.message) == (5, AlertStatus.OPEN, "newer")
    assert (cover.first_seen_at, cover.last_seen_at) == (START - timedelta(hours=1), later)


async def test_an_acknowledged_alert_still_counts_and_a_resolved_one_lets_a_new_one_open(runtime: Runtime) -> None:
    (meter,) = await _meters(runtime, 1)
    await _raise_now(runtime, _raise(meter))
    async with runtime.sessions() as session:
        alert = (await session.scalars(select(Alert))).one()
        alert.status = AlertStatus.ACKNOWLEDGED
        await session.commit()
    assert await _raise_now(runtime, _raise(meter)) == [(2, False)]

    async with runtime.sessions() as session:
        alert = (await session.scalars(select(Alert))).one()
        alert.status = AlertStatus.RESOLVED
        alert.resolved_at = START
        await session.commit()
    assert await _raise_now(runtime, _raise(meter)) == [(1, True)]
    assert [(alert.status, alert.occurrences) for alert in await _alerts(runtime)] == [
        (AlertStatus.RESOLVED, 2),
        (AlertStatus.OPEN, 1),
    ]


async def test_concurrent_raisers_never_duplicate_an_alert(runtime: Runtime) -> None:
    meters = await _meters(runtime, 3)
    raisers = 12

    async def raise_all() -> None:
        # Each raiser names every meter, in its own transaction, at the same moment as the others.
        async with runtime.sessions() as session:
            await raise_alerts(session, [_raise(meter) for meter in reversed(meters)])
            await session.commit()

    await asyncio.gather(*(raise_all() for _ in range(raisers)))
    stored = await _alerts(runtime)
    assert sorted((alert.meter_id, alert.occurrences) for alert in stored) == [(meter, raisers) for meter in meters]


async def test_nothing_to_raise_is_no_statement(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        assert await raise_alerts(session, []) == []


async def test_a_raise_larger_than_one_statement_lands_whole(runtime: Runtime) -> None:
    meters = await _meters(runtime, 800)
    raises = [_raise(meter, alert_type) for meter in meters for alert_type in ("tamper_cover", "power_failure")]
    assert len(raises) > ROWS_PER_STATEMENT
    raised = await _raise_now(runtime, *raises)
    assert len(raised) == 1600 and all(created for _, created in raised)
    async with runtime.sessions() as session:
        found = await by_ids(session, [alert.id for alert in await _alerts(runtime)])
    assert len(found) == 1600 and {record.meter_number for record in found} == {f"MTR-{index}" for index in range(800)}
