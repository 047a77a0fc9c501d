"""Alerts: what operators must look at; listing, acknowledging, resolving with a note, and the daily clean-up."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from hes.db.enums import AlertStatus, Severity
from hes.db.store import alerts as store
from hes.db.store import audit
from hes.db.store.alerts import AlertCriteria, AlertRecord
from hes.db.tables import utc_now
from hes.errors import Conflict, InvalidInput, NotFound, Problem
from hes.services import meter_logs
from hes.services.listing import Listing, Pagination
from hes.services.meter_logs import LogFilters
from hes.services.principal import Principal

logger = logging.getLogger(__name__)

# Most alerts one bulk acknowledgement may name (the API refuses more before this is reached).
MAX_BULK = 500


@dataclass(frozen=True, slots=True)
class AlertView:
    """An alert as people and real-time clients read it, with its meter's number and area code."""

    id: int
    meter_id: int | None
    meter_number: str | None
    area_code: str | None
    alert_type: str
    severity: Severity
    status: AlertStatus
    message: str
    occurrences: int
    first_seen_at: datetime
    last_seen_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None
    resolution_note: str | None

    @classmethod
    def of_record(cls, record: AlertRecord) -> AlertView:
        """The view of a stored alert."""
        alert = record.alert
        return cls(
            id=alert.id,
            meter_id=alert.meter_id,
            meter_number=record.meter_number,
            area_code=record.area_code,
            alert_type=alert.alert_type,
            severity=alert.severity,
            status=alert.status,
            message=alert.message,
            occurrences=alert.occurrences,
            first_seen_at=alert.first_seen_at,
            last_seen_at=alert.last_seen_at,
            acknowledged_by=alert.acknowledged_by,
            acknowledged_at=alert.acknowledged_at,
            resolved_by=alert.resolved_by,
            resolved_at=alert.resolved_at,
            resolution_note=alert.resolution_note,
        )


@dataclass(frozen=True)
class AlertFilters:
    """What an alert list or download is narrowed to, as the caller gives it; times match alerts seen within them."""

    log: LogFilters
    statuses: frozenset[AlertStatus] = frozenset()
    alert_type: str | None = None


@dataclass(frozen=True)
class AcknowledgeReport:
    """The outcome of a bulk acknowledgement, one list per outcome, ids in the order given."""

    acknowledged: tuple[int, ...]
    already_acknowledged: tuple[int, ...]
    already_resolved: tuple[int, ...]
    not_found: tuple[int, ...]
    not_allowed: tuple[int, ...]


async def list_alerts(
    session: AsyncSession,
    principal: Principal,
    pagination: Pagination,
    filters: AlertFilters,
    sort: str | None = None,
) -> Listing[AlertView]:
    """Alerts of meters in the caller's areas, one page, last seen first by default.

    Raises:
        InvalidInput: an unknown area or sort key, a time without offset, `start` after `end`.
    """
    criteria = await _criteria(session, principal, filters)
    return await meter_logs.page_of(store.ALERT_LOG, AlertView.of_record, session, criteria, pagination, sort)


async def export_alerts(
    session: AsyncSession, principal: Principal, filters: AlertFilters, sort: str | None = None
) -> AsyncIterator[AlertView]:
    """Every alert `list_alerts` would list, streamed in order; the filters are checked before the first row.

    Raises:
        InvalidInput: as `list_alerts`, raised by this call rather than while iterating.
    """
    store.ALERT_LOG.check_sort(sort)
    criteria = await _criteria(session, principal, filters)
    return meter_logs.views_of(store.ALERT_LOG, AlertView.of_record, session, criteria, sort)


async def get_alert(session: AsyncSession, principal: Principal, alert_id: int) -> AlertView:
    """One alert the caller may see.

    Raises:
        NotFound: no such alert, or its meter is outside the caller's areas.
    """
    return AlertView.of_record(await _visible(session, principal, alert_id))


async def acknowledge_alert(session: AsyncSession, principal: Principal, alert_id: int) -> AlertView:
    """Mark an open alert as seen by the caller; acknowledging it again changes nothing.

    Raises:
        NotFound: no such alert, or not visible to the caller. Conflict: the alert is resolved.
    """
    record = await _visible(session, principal, alert_id, for_update=True)
    if record.alert.status is AlertStatus.RESOLVED:
        raise Conflict(f"alert {alert_id} is already resolved", [Problem("resolved alerts stay resolved", field="id")])
    _acknowledge(session, principal, record, utc_now())
    await session.commit()
    return AlertView.of_record(record)


async def resolve_alert(session: AsyncSession, principal: Principal, alert_id: int, note: str) -> AlertView:
    """Close an alert with the caller's note; the next raise of its type for the meter opens a new alert.

    Raises:
        InvalidInput: a blank note. NotFound: no such alert, or not visible to the caller.
        Conflict: the alert is already resolved.
    """
    note = note.strip()
    if not note:
        raise InvalidInput("a resolution needs a note", [Problem("say what was done", field="note")])
    record = await _visible(session, principal, alert_id, for_update=True)
    alert = record.alert
    if alert.status is AlertStatus.RESOLVED:
        raise Conflict(f"alert {alert_id} is already resolved", [Problem("resolved alerts stay resolved", field="id")])
    now = utc_now()
    alert.status = AlertStatus.RESOLVED
    alert.resolved_by = principal.username
    alert.resolved_at = now
    alert.resolution_note = note
    details = {"alertType": alert.alert_type, "meterId": alert.meter_id, "note": note}
    audit.record(session, principal.username, "resolve", "alert", alert.id, details)
    await session.commit()
    return AlertView.of_record(record)


async def acknowledge_alerts(
    session: AsyncSession, principal: Principal, alert_ids: Sequence[int]
) -> AcknowledgeReport:
    """Acknowledge several alerts at once; each id lands in exactly one list of the report.

    Raises:
        InvalidInput: no ids, or more than MAX_BULK.
    """
    wanted = list(dict.fromkeys(alert_ids))
    if not wanted or len(wanted) > MAX_BULK:
        raise InvalidInput("invalid bulk acknowledgement", [Problem(f"give 1 to {MAX_BULK} alert ids", field="ids")])
    found = {record.alert.id: record for record in await store.by_ids(session, wanted, for_update=True)}
    outcome: dict[str, list[int]] = {name: [] for name in ("done", "acknowledged", "resolved", "missing", "refused")}
    now = utc_now()
    for alert_id in wanted:
        record = found.get(alert_id)
        if record is None:
            outcome["missing"].append(alert_id)
        elif not principal.may_see_area(record.area_id):
            outcome["refused"].append(alert_id)
        elif record.alert.status is AlertStatus.RESOLVED:
            outcome["resolved"].append(alert_id)
        elif record.alert.status is AlertStatus.ACKNOWLEDGED:
            outcome["acknowledged"].append(alert_id)
        else:
            _acknowledge(session, principal, record, now)
            outcome["done"].append(alert_id)
    await session.commit()
    return AcknowledgeReport(
        acknowledged=tuple(outcome["done"]),
        already_acknowledged=tuple(outcome["acknowledged"]),
        already_resolved=tuple(outcome["resolved"]),
        not_found=tuple(outcome["missing"]),
        not_allowed=tuple(outcome["refused"]),
    )


async def delete_resolved_alerts_older_than(session: AsyncSession, days: int, *, now: datetime | None = None) -> int:
    """Delete alerts resolved more than `days` days ago (the daily clean-up); commits; return how many.

    Open and acknowledged alerts are kept however old they are.

    Raises:
        ValueError: `days` below 1.
    """
    if days < 1:
        raise ValueError(f"alert retention must be at least one day, not {days}")
    removed = await store.delete_resolved_before(session, (now or utc_now()) - timedelta(days=days))
    await session.commit()
    if removed:
        logger.info("deleted %d alerts resolved more than %d days ago", removed, days)
    return removed


def _acknowledge(session: AsyncSession, principal: Principal, record: AlertRecord, now: datetime) -> None:
    alert = record.alert
    if alert.status is not AlertStatus.OPEN:
        return
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.acknowledged_by = principal.username
    alert.acknowledged_at = now
    audit.record(
        session,
        principal.username,
        "acknowledge",
        "alert",
        alert.id,
        {"alertType": alert.alert_type, "meterId": alert.meter_id},
    )


async def _visible(
    session: AsyncSession, principal: Principal, alert_id: int, *, for_update: bool = False
) -> AlertRecord:
    found = await store.by_ids(session, [alert_id], for_update=for_update)
    if not found or principal.is_customer or not principal.may_see_area(found[0].area_id):
        raise NotFound("alert", alert_id)
    return found[0]


async def _criteria(session: AsyncSession, principal: Principal, filters: AlertFilters) -> AlertCriteria | None:
    """The store criteria for the caller; None when the caller can see no alert (customers: alerts are staff's)."""
    log = await meter_logs.log_criteria(session, principal, filters.log)
    if principal.is_customer:
        return None
    return AlertCriteria(log, filters.statuses, filters.alert_type)
