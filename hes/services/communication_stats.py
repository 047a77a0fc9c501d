"""Communication statistics: each collection attempt's outcome, per-meter health and read-success rates."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.store import meter_health, read_attempts
from hes.db.store.meter_health import HealthChange
from hes.db.store.read_attempts import AttemptCount, AttemptTotals, StatsGrouping
from hes.errors import InvalidInput, Problem
from hes.services import areas
from hes.services.principal import Principal

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_DAYS",
    "MAX_DAYS",
    "AttemptOutcome",
    "ReadSuccessReport",
    "StatsGrouping",
    "SuccessFigures",
    "SuccessGroup",
    "read_success",
    "record_attempt",
    "record_attempts",
]

# Without `from`, a report covers the last week; one report covers at most a leap year of days.
DEFAULT_DAYS = 7
MAX_DAYS = 366
# The largest round trip worth storing (the column is a 32-bit integer of milliseconds).
_MAX_ROUND_TRIP_MS = 2**31 - 1


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    """One collection attempt at a meter: when it ended, whether it succeeded, and its round trip if measured.

    Raises:
        ValueError: a naive time, or a negative or absurd round trip.
    """

    meter_id: int
    at: datetime
    ok: bool
    round_trip_ms: int | None = None

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("naive datetime refused: attempt times are UTC with an offset")
        if self.round_trip_ms is not None and not 0 <= self.round_trip_ms <= _MAX_ROUND_TRIP_MS:
            raise ValueError(f"round trip {self.round_trip_ms} ms is outside 0..{_MAX_ROUND_TRIP_MS}")


@dataclass(frozen=True, slots=True)
class SuccessFigures:
    """Attempts and successes, and their ratio (None when nothing was attempted)."""

    attempts: int
    successes: int

    @property
    def success_rate(self) -> float | None:
        """Successes per attempt, 0 to 1; None without attempts."""
        return self.successes / self.attempts if self.attempts else None


@dataclass(frozen=True, slots=True)
class SuccessGroup:
    """The figures of one day, area or brand; `key` None gathers meters without an area or brand."""

    key: str | None
    label: str | None
    figures: SuccessFigures


@dataclass(frozen=True)
class ReadSuccessReport:
    """Read success over a range of UTC days, in total and per group."""

    start: date
    end: date
    grouping: StatsGrouping
    area: str | None
    total: SuccessFigures
    groups: tuple[SuccessGroup, ...]


async def record_attempt(
    session: AsyncSession, meter_id: int, at: datetime, ok: bool, round_trip_ms: int | None = None
) -> int:
    """Record one collection attempt; commits. Returns 1, or 0 for a meter that no longer exists."""
    return await record_attempts(session, [AttemptOutcome(meter_id, at, ok, round_trip_ms)])


async def record_attempts(session: AsyncSession, outcomes: Sequence[AttemptOutcome]) -> int:
    """Record many attempts in a few statements (three up to 5,000 meters), whatever their number; commits once.

    Adds each attempt to its meter's UTC day (attempts, successes) and updates each meter's row: last seen and
    last success move forward on success, consecutive failures reset or grow, the newest round trip is kept.
    Meters that no longer exist are skipped (a meter deleted while it was being read). Returns the number of
    meters recorded.
    """
    if not outcomes:
        return 0
    existing = await meter_health.existing_meters(session, {outcome.meter_id for outcome in outcomes})
    kept = [outcome for outcome in outcomes if outcome.meter_id in existing]
    if len(kept) < len(outcomes):
        logger.warning("skipped %d attempt outcomes of meters that do not exist", len(outcomes) - len(kept))
    await read_attempts.add_counts(session, daily_counts(kept))
    await meter_health.apply(session, health_changes(kept))
    await session.commit()
    return len(existing)


def daily_counts(outcomes: Sequence[AttemptOutcome]) -> list[AttemptCount]:
    """The outcomes summed per meter and UTC day."""
    sums: dict[tuple[date, int], list[int]] = defaultdict(lambda: [0, 0])
    for outcome in outcomes:
        figures = sums[(outcome.at.astimezone(UTC).date(), outcome.meter_id)]
        figures[0] += 1
        figures[1] += outcome.ok
    return [AttemptCount(day, meter_id, tried, succeeded) for (day, meter_id), (tried, succeeded) in sums.items()]


def health_changes(outcomes: Sequence[AttemptOutcome]) -> list[HealthChange]:
    """What the outcomes do to each meter's row, taken in time order per meter."""
    by_meter: dict[int, list[AttemptOutcome]] = defaultdict(list)
    for outcome in outcomes:
        by_meter[outcome.meter_id].append(outcome)
    changes: list[HealthChange] = []
    for meter_id, attempts in by_meter.items():
        attempts.sort(key=lambda outcome: outcome.at)
        successes = [outcome.at for outcome in attempts if outcome.ok]
        succeeded_at = successes[-1] if successes else None
        failures = sum(
            1 for outcome in attempts if not outcome.ok and (succeeded_at is None or outcome.at > succeeded_at)
        )
        measured = [outcome.round_trip_ms for outcome in attempts if outcome.round_trip_ms is not None]
        changes.append(HealthChange(meter_id, succeeded_at, failures, measured[-1] if measured else None))
    return changes


async def read_success(
    session: AsyncSession,
    principal: Principal,
    start: date | None = None,
    end: date | None = None,
    grouping: StatsGrouping = StatsGrouping.DAY,
    area: str | None = None,
    today: date | None = None,
) -> ReadSuccessReport:
    """Read-success figures of the meters the caller may see, from `start` to `end` (UTC days, both included).

    `end` defaults to today (UTC), `start` to a week before `end`. `area` (code or name) includes its sub-areas.
    Grouped per day, every day of the range is listed, those without attempts too.

    Raises:
        InvalidInput: `start` after `end`, a range over MAX_DAYS days, or an unknown area.
    """
    end = end or today or datetime.now(UTC).date()
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    problems: list[Problem] = []
    if start > end:
        problems.append(Problem("'from' is after 'to' (today when 'to' is not given)", field="from"))
    elif (end - start).days + 1 > MAX_DAYS:
        problems.append(Problem(f"a report covers at most {MAX_DAYS} days", field="from"))
    if problems:
        raise InvalidInput("invalid read-success query", problems)
    area_ids = await areas.resolve_area_filter(session, principal, area)
    rows = await read_attempts.totals(session, start, end, grouping, area_ids)
    total = SuccessFigures(sum(row.attempts for row in rows), sum(row.successes for row in rows))
    groups = _every_day(rows, start, end) if grouping is StatsGrouping.DAY else _by_attempts(rows)
    return ReadSuccessReport(start, end, grouping, area, total, groups)


def _every_day(rows: Sequence[AttemptTotals], start: date, end: date) -> tuple[SuccessGroup, ...]:
    found = {row.key: row for row in rows}
    days = (start + timedelta(days=offset) for offset in range((end - start).days + 1))
    return tuple(_group(found.get(day.isoformat()), day.isoformat()) for day in days)


def _by_attempts(rows: Sequence[AttemptTotals]) -> tuple[SuccessGroup, ...]:
    # Most attempted first: the groups that matter most lead; the key breaks ties so the order is stable.
    ordered = sorted(rows, key=lambda row: (-row.attempts, row.key is None, row.key or ""))
    return tuple(_group(row, row.key) for row in ordered)


def _group(row: AttemptTotals | None, key: str | None) -> SuccessGroup:
    if row is None:
        return SuccessGroup(key, key, SuccessFigures(0, 0))
    return SuccessGroup(key, row.label if row.label is not None else key, SuccessFigures(row.attempts, row.successes))
