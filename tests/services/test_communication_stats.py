"""Recording collection attempts: per-day counters and each meter's health, one at a time or in batches."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from hes.db.enums import Role
from hes.db.tables import Area, Meter, ReadAttempts
from hes.errors import InvalidInput
from hes.runtime import Runtime
from hes.services import communication_stats
from hes.services.communication_stats import AttemptOutcome, StatsGrouping
from hes.services.principal import Principal

T0 = datetime(2026, 3, 10, 23, 50, tzinfo=UTC)
VIEWER = Principal(1, "viewer", Role.VIEWER)


async def _meters(runtime: Runtime, count: int) -> list[int]:
    async with runtime.sessions() as session:
        meters = [Meter(meter_number=f"COMM-{number}") for number in range(count)]
        session.add_all(meters)
        await session.commit()
        return [meter.id for meter in meters]


async def _meter(runtime: Runtime, meter_id: int) -> Meter:
    async with runtime.sessions() as session:
        meter = await session.get(Meter, meter_id)
        assert meter is not None
        return meter


async def _days(runtime: Runtime, meter_id: int) -> dict[date, tuple[int, int]]:
    async with runtime.sessions() as session:
        rows = await session.scalars(select(ReadAttempts).where(ReadAttempts.meter_id == meter_id))
        return {row.day: (row.attempts, row.successes) for row in rows}


async def test_one_attempt_at_a_time_updates_the_day_and_the_meter(runtime: Runtime) -> None:
    (meter_id,) = await _meters(runtime, 1)
    async with runtime.sessions() as session:
        assert await communication_stats.record_attempt(session, meter_id, T0, ok=True, round_trip_ms=420) == 1
        await communication_stats.record_attempt(session, meter_id, T0 + timedelta(minutes=5), ok=False)
        await communication_stats.record_attempt(session, meter_id, T0 + timedelta(minutes=20), ok=False)

    meter = await _meter(runtime, meter_id)
    assert (meter.last_seen_at, meter.last_success_at) == (T0, T0)
    assert (meter.consecutive_failures, meter.last_round_trip_ms) == (2, 420)
    # 23:50 and 23:55 fall on 10 March, 00:10 on the 11th (UTC days).
    assert await _days(runtime, meter_id) == {date(2026, 3, 10): (2, 1), date(2026, 3, 11): (1, 0)}

    async with runtime.sessions() as session:
        await communication_stats.record_attempt(
            session, meter_id, T0 + timedelta(minutes=35), ok=True, round_trip_ms=90
        )
    meter = await _meter(runtime, meter_id)
    assert (meter.consecutive_failures, meter.last_round_trip_ms) == (0, 90)
    assert meter.last_success_at == meter.last_seen_at == T0 + timedelta(minutes=35)


async def test_a_batch_is_recorded_in_time_order_per_meter(runtime: Runtime) -> None:
    flaky, steady, silent = await _meters(runtime, 3)
    outcomes = [
        # Out of order on purpose: a failure after the newest success counts, the ones before it do not.
        AttemptOutcome(flaky, T0 + timedelta(minutes=30), ok=False),
        AttemptOutcome(flaky, T0, ok=False),
        AttemptOutcome(flaky, T0 + timedelta(minutes=15), ok=True, round_trip_ms=800),
        AttemptOutcome(steady, T0, ok=True, round_trip_ms=50),
        AttemptOutcome(steady, T0 + timedelta(minutes=15), ok=True, round_trip_ms=60),
        AttemptOutcome(silent, T0, ok=False),
        AttemptOutcome(silent, T0 + timedelta(minutes=15), ok=False),
    ]
    async with runtime.sessions() as session:
        assert await communication_stats.record_attempts(session, outcomes) == 3

    flaky_meter, steady_meter, silent_meter = [await _meter(runtime, meter) for meter in (flaky, steady, silent)]
    assert (flaky_meter.last_success_at, flaky_meter.consecutive_failures) == (T0 + timedelta(minutes=15), 1)
    assert (steady_meter.consecutive_failures, steady_meter.last_round_trip_ms) == (0, 60)
    assert (silent_meter.last_seen_at, silent_meter.last_success_at, silent_meter.consecutive_failures) == (
        None,
        None,
        2,
    )
    assert await _days(runtime, flaky) == {date(2026, 3, 10): (1, 0), date(2026, 3, 11): (2, 1)}


async def test_last_seen_only_moves_forward(runtime: Runtime) -> None:
    (meter_id,) = await _meters(runtime, 1)
    later = T0 + timedelta(hours=3)
    async with runtime.sessions() as session:
        meter = await session.get(Meter, meter_id)
        assert meter is not None
        meter.last_seen_at = later  # heard from through another channel (a push) since
        await session.commit()
        await communication_stats.record_attempt(session, meter_id, T0, ok=True, round_trip_ms=100)
    meter = await _meter(runtime, meter_id)
    assert (meter.last_seen_at, meter.last_success_at) == (later, T0)


async def test_attempts_of_meters_that_do_not_exist_are_skipped(runtime: Runtime) -> None:
    (meter_id,) = await _meters(runtime, 1)
    async with runtime.sessions() as session:
        outcomes = [AttemptOutcome(meter_id, T0, ok=True), AttemptOutcome(999_999, T0, ok=True)]
        assert await communication_stats.record_attempts(session, outcomes) == 1
        assert await communication_stats.record_attempts(session, []) == 0
    assert await _days(runtime, meter_id) == {date(2026, 3, 10): (1, 1)}


async def test_a_large_batch_is_recorded(runtime: Runtime) -> None:
    meter_ids = await _meters(runtime, 300)
    outcomes = [
        AttemptOutcome(meter, T0 + timedelta(minutes=step), ok=step != 1) for meter in meter_ids for step in range(3)
    ]
    async with runtime.sessions() as session:
        assert await communication_stats.record_attempts(session, outcomes) == 300
        report = await communication_stats.read_success(
            session, VIEWER, date(2026, 3, 10), date(2026, 3, 10), StatsGrouping.DAY
        )
    assert (report.total.attempts, report.total.successes) == (900, 600)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"at": datetime(2026, 3, 10)}, "naive"),
        ({"round_trip_ms": -1}, "round trip"),
        ({"round_trip_ms": 2**31}, "round trip"),
    ],
)
def test_bad_outcomes_are_refused(arguments: dict[str, object], message: str) -> None:
    values: dict[str, object] = {"meter_id": 1, "at": T0, "ok": True, **arguments}
    with pytest.raises(ValueError, match=message):
        AttemptOutcome(**values)  # type: ignore[arg-type]


async def test_read_success_by_area_includes_sub_areas_and_respects_area_limits(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        north = Area(code="N", name="North")
        session.add(north)
        await session.flush()
        town = Area(code="N-T", name="North town", parent_id=north.id)
        south = Area(code="S", name="South")
        session.add_all([town, south])
        await session.flush()
        meters = [Meter(meter_number=f"AR-{area.code}", area_id=area.id) for area in (north, town, south)]
        session.add_all(meters)
        await session.commit()
        outcomes = [AttemptOutcome(meter.id, T0, ok=index != 2) for index, meter in enumerate(meters)]
        await communication_stats.record_attempts(session, outcomes)

        day = date(2026, 3, 10)
        everything = await communication_stats.read_success(session, VIEWER, day, day, StatsGrouping.AREA)
        assert [(group.key, group.label, group.figures.success_rate) for group in everything.groups] == [
            ("N", "North", 1.0),
            ("N-T", "North town", 1.0),
            ("S", "South", 0.0),
        ]
        north_only = await communication_stats.read_success(session, VIEWER, day, day, StatsGrouping.AREA, "north")
        assert [group.key for group in north_only.groups] == ["N", "N-T"]
        limited = Principal(2, "southern", Role.VIEWER, area_ids=frozenset({south.id}))
        seen = await communication_stats.read_success(session, limited, day, day, StatsGrouping.AREA)
        assert [group.key for group in seen.groups] == ["S"]
        assert (await communication_stats.read_success(session, limited, day, day, area="N")).total.attempts == 0


async def test_read_success_refuses_bad_ranges(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        with pytest.raises(InvalidInput, match="invalid read-success query"):
            await communication_stats.read_success(session, VIEWER, date(2026, 3, 2), date(2026, 3, 1))
        with pytest.raises(InvalidInput):
            await communication_stats.read_success(session, VIEWER, date(2024, 1, 1), date(2026, 1, 1))
        with pytest.raises(InvalidInput, match="unknown area"):
            await communication_stats.read_success(session, VIEWER, area="Atlantis")
        report = await communication_stats.read_success(session, VIEWER, today=date(2026, 3, 10))
    assert (report.start, report.end, len(report.groups)) == (date(2026, 3, 4), date(2026, 3, 10), 7)
    assert all(group.figures.success_rate is None for group in report.groups)
