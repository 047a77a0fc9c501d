"""SQL for alerts: the race-free raise (one unresolved alert per meter and type), and the reads behind the API."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Row, Select, case, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.enums import AlertStatus, MeterStatus, RelayState, Severity
from hes.db.store.meter_logs import LogCriteria, MeterLog, common_conditions, severity_rank, with_meter
from hes.db.tables import Alert, Area, LatestReading, Meter, Reading

# Meters not in service, whose registers are expected to stand still.
_OUT_OF_SERVICE = (MeterStatus.WAREHOUSE, MeterStatus.DECOMMISSIONED)

# Word for word the predicate of the partial index uq_alerts_unresolved_meter_type: both PostgreSQL and SQLite
# pick the index for ON CONFLICT only when the conflict target's WHERE implies the index's (a literal, not a
# bound parameter, so the planner can prove it).
_UNRESOLVED = text("status != 'resolved'")

SORT_COLUMNS = {
    "lastSeenAt": Alert.last_seen_at,
    "firstSeenAt": Alert.first_seen_at,
    "occurrences": Alert.occurrences,
    "status": Alert.status,
    "type": Alert.alert_type,
    "meterNumber": Meter.meter_number,
    "severity": severity_rank(Alert.severity),
}
DEFAULT_SORT = "-lastSeenAt"
# Rows per statement: 8 bound values each stay well under the 32,767 parameters asyncpg and SQLite accept.
ROWS_PER_STATEMENT = 1000


@dataclass(frozen=True, slots=True)
class AlertRaise:
    """One alert to raise for a meter: `count` sightings between `first_seen_at` and `last_seen_at`."""

    meter_id: int
    alert_type: str
    severity: Severity
    message: str
    count: int
    first_seen_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True, slots=True)
class RaisedAlert:
    """The unresolved alert a raise landed on, and whether the raise opened it."""

    id: int
    meter_id: int
    alert_type: str
    occurrences: int
    created: bool


@dataclass(frozen=True)
class AlertCriteria:
    """What an alert query is narrowed to: the criteria every meter log has, status and type; None leaves one out."""

    log: LogCriteria
    statuses: frozenset[AlertStatus] = frozenset()
    alert_type: str | None = None


@dataclass(frozen=True)
class AlertRecord:
    """An alert with the meter facts its readers need: number and area."""

    alert: Alert
    meter_number: str | None
    area_id: int | None
    area_code: str | None


async def raise_alerts(session: AsyncSession, raises: Sequence[AlertRaise]) -> list[RaisedAlert]:
    """Open each alert, or count the raise on the meter's unresolved alert of that type (no commit).

    One INSERT ... ON CONFLICT DO UPDATE on the partial unique index, so concurrent raisers never make a
    second unresolved alert. Give at most one raise per (meter, type): a statement may touch a row only once.
    """
    if not raises:
        return []
    # A fixed order makes concurrent multi-row raises lock rows in the same order (no deadlock).
    ordered = sorted(raises, key=lambda wanted: (wanted.meter_id, wanted.alert_type))
    raised: list[RaisedAlert] = []
    for start in range(0, len(ordered), ROWS_PER_STATEMENT):
        raised.extend(await _raise_some(session, ordered[start : start + ROWS_PER_STATEMENT]))
    return raised


async def _raise_some(session: AsyncSession, ordered: Sequence[AlertRaise]) -> list[RaisedAlert]:
    postgresql = session.get_bind().dialect.name == "postgresql"
    insert = postgresql_insert if postgresql else sqlite_insert
    statement = insert(Alert).values([_values(wanted) for wanted in ordered])
    excluded = statement.excluded
    greatest, least = (func.greatest, func.least) if postgresql else (func.max, func.min)
    statement = statement.on_conflict_do_update(
        index_elements=[Alert.meter_id, Alert.alert_type],
        index_where=_UNRESOLVED,
        set_={
            "occurrences": Alert.occurrences + excluded.occurrences,
            "first_seen_at": least(Alert.first_seen_at, excluded.first_seen_at),
            "last_seen_at": greatest(Alert.last_seen_at, excluded.last_seen_at),
            # A late backfill must not replace the message of a newer sighting.
            "message": case((excluded.last_seen_at >= Alert.last_seen_at, excluded.message), else_=Alert.message),
            "severity": excluded.severity,
        },
    )
    rows = await session.execute(statement.returning(Alert.id, Alert.meter_id, Alert.alert_type, Alert.occurrences))
    counts = {(wanted.meter_id, wanted.alert_type): wanted.count for wanted in ordered}
    raised: list[RaisedAlert] = []
    for alert_id, meter_id, alert_type, occurrences in rows.tuples():
        assert meter_id is not None  # every raise names its meter
        # A new row holds exactly this raise's count; an existing one holds more.
        created = occurrences == counts[(meter_id, alert_type)]
        raised.append(RaisedAlert(alert_id, meter_id, alert_type, occurrences, created))
    return raised


def _values(wanted: AlertRaise) -> dict[str, object]:
    return {
        "meter_id": wanted.meter_id,
        "alert_type": wanted.alert_type,
        "severity": wanted.severity,
        "status": AlertStatus.OPEN,
        "message": wanted.message,
        "occurrences": wanted.count,
        "first_seen_at": wanted.first_seen_at,
        "last_seen_at": wanted.last_seen_at,
    }


_Joined = tuple[Alert, str | None, int | None, str | None]


def _select() -> Select[_Joined]:
    return with_meter(select(Alert, Meter.meter_number, Meter.area_id, Area.code), Alert.meter_id)


def _conditions(criteria: AlertCriteria) -> list[ColumnElement[bool]]:
    conditions = common_conditions(Alert.meter_id, Alert.severity, criteria.log)
    if criteria.statuses:
        conditions.append(Alert.status.in_(criteria.statuses))
    if criteria.alert_type:
        conditions.append(Alert.alert_type == criteria.alert_type)
    # Alerts seen at some point within the range: last seen after its start, first seen before its end.
    if criteria.log.start is not None:
        conditions.append(Alert.last_seen_at >= criteria.log.start)
    if criteria.log.end is not None:
        conditions.append(Alert.first_seen_at <= criteria.log.end)
    return conditions


def _record(row: Row[_Joined]) -> AlertRecord:
    alert, meter_number, area_id, area_code = row
    return AlertRecord(alert, meter_number, area_id, area_code)


# Listing and downloading alerts: last seen first by default.
ALERT_LOG: MeterLog[AlertCriteria, AlertRecord] = MeterLog(
    Alert.id, Alert.meter_id, _select, _conditions, _record, SORT_COLUMNS, DEFAULT_SORT
)


async def by_ids(session: AsyncSession, alert_ids: Collection[int], *, for_update: bool = False) -> list[AlertRecord]:
    """The alerts with these ids (those that exist), by id; `for_update` locks them until the transaction ends."""
    wanted = sorted(set(alert_ids))
    found: list[AlertRecord] = []
    for start in range(0, len(wanted), ROWS_PER_STATEMENT):
        query = _select().where(Alert.id.in_(wanted[start : start + ROWS_PER_STATEMENT])).order_by(Alert.id)
        if for_update:
            # Only the alert rows: the meter and area are read, not changed (SQLite ignores the clause).
            query = query.with_for_update(of=Alert)
        found.extend(_record(row) for row in await session.execute(query))
    return found


@dataclass(frozen=True, slots=True)
class AlertEnd:
    """What ended a meter's unresolved alert of a type: when it ended, and the note the resolution keeps."""

    meter_id: int
    alert_type: str
    ended_at: datetime
    note: str


async def resolve_ended(session: AsyncSession, ends: Sequence[AlertEnd], *, resolved_by: str, at: datetime) -> int:
    """Resolve, at `at`, each meter's unresolved alert of the type last seen no later than its end (no commit).

    Returns how many were resolved.
    """
    resolved = 0
    for end in sorted(ends, key=lambda end: (end.meter_id, end.alert_type)):  # one lock order for every writer
        of_end = (Alert.meter_id == end.meter_id, Alert.alert_type == end.alert_type)
        resolved += await _resolve(session, (*of_end, Alert.last_seen_at <= end.ended_at), resolved_by, at, end.note)
    return resolved


async def resolve_for_online_meters(
    session: AsyncSession, alert_type: str, *, resolved_by: str, note: str, at: datetime
) -> int:
    """Resolve the unresolved `alert_type` alerts of meters now online, with `note` (no commit); return how many."""
    online = select(Meter.id).where(Meter.status == MeterStatus.ONLINE)
    return await _resolve(session, (Alert.alert_type == alert_type, Alert.meter_id.in_(online)), resolved_by, at, note)


async def _resolve(
    session: AsyncSession, conditions: Sequence[ColumnElement[bool]], resolved_by: str, at: datetime, note: str
) -> int:
    statement = (
        update(Alert)
        .where(_UNRESOLVED, *conditions)
        .values(status=AlertStatus.RESOLVED, resolved_by=resolved_by, resolved_at=at, resolution_note=note)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(await session.execute(statement), "rowcount", 0) or 0)


async def delete_resolved_before(session: AsyncSession, before: datetime) -> int:
    """Delete alerts resolved before `before` (no commit); return how many."""
    statement = (
        delete(Alert)
        .where(Alert.status == AlertStatus.RESOLVED, Alert.resolved_at < before)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True, slots=True)
class FlatRegister:
    """A meter whose register has not advanced since the start of a window: its value then and now."""

    meter_id: int
    value: float
    latest_at: datetime


async def flat_registers(session: AsyncSession, obis_id: int, window_start: datetime) -> list[FlatRegister]:
    """In-service, connected meters whose register `obis_id` read after `window_start` is no higher than before it.

    Meters without a reading at or before `window_start` (too new to judge) or none after it (not heard from:
    a communication matter) are left out, as are meters whose relay is open.
    """
    baseline = (
        select(Reading.value)
        .where(Reading.meter_id == LatestReading.meter_id, Reading.obis_id == obis_id, Reading.ts <= window_start)
        .order_by(Reading.ts.desc())
        .limit(1)
        .correlate(LatestReading)
        .scalar_subquery()
    )
    latest = (
        select(LatestReading.meter_id, LatestReading.value, LatestReading.ts, baseline.label("baseline"))
        .join(Meter, Meter.id == LatestReading.meter_id)
        .where(
            LatestReading.obis_id == obis_id,
            LatestReading.ts > window_start,
            Meter.status.not_in(_OUT_OF_SERVICE),
            Meter.relay_state != RelayState.DISCONNECTED,
        )
        .subquery()
    )
    # One backward index probe per meter (the readings key is meter, OBIS code, time).
    flat = select(latest).where(latest.c.baseline.is_not(None), latest.c.value <= latest.c.baseline)
    rows = await session.execute(flat.order_by(latest.c.meter_id))
    return [FlatRegister(row.meter_id, row.value, row.ts) for row in rows]
