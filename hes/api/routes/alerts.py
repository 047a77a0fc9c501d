"""/api/alerts: alerts to look at; acknowledge, resolve with a note, bulk acknowledge, CSV download."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from hes.api.deps import LogFiltersDep, Operator, PaginationDep, SessionDep, SortQuery, Staff
from hes.api.routes.events import CSV_RESPONSE, LogId
from hes.api.schemas.alerts import (
    ALERT_CSV_HEADER,
    AcknowledgeReportOut,
    AlertBulkAcknowledge,
    AlertOut,
    AlertResolve,
    alert_csv_row,
)
from hes.api.schemas.common import Page, page_of
from hes.api.schemas.events import CSV_MEDIA_TYPE, csv_document, csv_filename
from hes.db.enums import AlertStatus
from hes.db.tables import utc_now
from hes.services import alerts
from hes.services.alerts import AlertFilters

router = APIRouter(prefix="/api", tags=["alerts"])


def alert_filters(
    log: LogFiltersDep,
    alert_status: Annotated[
        list[AlertStatus] | None, Query(alias="status", description="e.g. status=open&status=acknowledged")
    ] = None,
    alert_type: Annotated[str | None, Query(alias="type", max_length=60, description="e.g. tamper_cover")] = None,
) -> AlertFilters:
    """The filters shared by the alert list and its download; the time range matches alerts seen within it."""
    return AlertFilters(log, frozenset(alert_status or ()), alert_type)


AlertFiltersDep = Annotated[AlertFilters, Depends(alert_filters)]


@router.get("/alerts", response_model=Page[AlertOut])
async def list_alerts(
    session: SessionDep, principal: Staff, pagination: PaginationDep, filters: AlertFiltersDep, sort: SortQuery = None
) -> Page[AlertOut]:
    """Alerts, last seen first; filter by status, severity, type, meter, area (with sub-areas) and time.

    Resolved by `system`, with a note: a `communication_loss` alert once its meter is online again (within one
    status check), a `power_failure` alert when its meter reports `power_up`.
    """
    listing = await alerts.list_alerts(session, principal, pagination, filters, sort)
    return page_of(listing, AlertOut.model_validate)


@router.get("/alerts.csv", response_class=StreamingResponse, responses=CSV_RESPONSE)
async def export_alerts(
    session: SessionDep, principal: Staff, filters: AlertFiltersDep, sort: SortQuery = None
) -> StreamingResponse:
    """Every alert the same filters list, as a CSV download (streamed)."""
    rows = await alerts.export_alerts(session, principal, filters, sort)
    document = csv_document(ALERT_CSV_HEADER, rows, alert_csv_row)
    headers = {"Content-Disposition": csv_filename("alerts", utc_now())}
    return StreamingResponse(document, media_type=CSV_MEDIA_TYPE, headers=headers)


@router.post("/alerts/acknowledge", response_model=AcknowledgeReportOut)
async def acknowledge_alerts(
    body: AlertBulkAcknowledge, session: SessionDep, principal: Operator
) -> AcknowledgeReportOut:
    """Acknowledge several alerts; the answer lists each id under what happened to it."""
    return AcknowledgeReportOut.of(await alerts.acknowledge_alerts(session, principal, body.ids))


@router.get("/alerts/{alert_id}", response_model=AlertOut)
async def get_alert(alert_id: LogId, session: SessionDep, principal: Staff) -> AlertOut:
    """One alert."""
    return AlertOut.model_validate(await alerts.get_alert(session, principal, alert_id))


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut)
async def acknowledge_alert(alert_id: LogId, session: SessionDep, principal: Operator) -> AlertOut:
    """Mark an alert as seen (again: no change); a resolved alert cannot be acknowledged (409)."""
    return AlertOut.model_validate(await alerts.acknowledge_alert(session, principal, alert_id))


@router.post("/alerts/{alert_id}/resolve", response_model=AlertOut)
async def resolve_alert(alert_id: LogId, body: AlertResolve, session: SessionDep, principal: Operator) -> AlertOut:
    """Close an alert with a note saying what was done; the next occurrence opens a new alert."""
    return AlertOut.model_validate(await alerts.resolve_alert(session, principal, alert_id, body.note))
