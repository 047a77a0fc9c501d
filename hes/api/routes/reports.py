"""/api/reports: CSV downloads of consumption and of the online-rate report per area."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from hes.api.deps import AnyUser, AreaQuery, SessionDep, Staff
from hes.api.routes.consumption import ConsumptionRequestDep
from hes.api.routes.events import CSV_RESPONSE
from hes.api.schemas.events import CSV_MEDIA_TYPE, csv_document, csv_filename
from hes.api.schemas.reports import (
    CONSUMPTION_CSV_HEADER,
    ONLINE_RATE_CSV_HEADER,
    consumption_csv_rows,
    online_rate_csv_row,
    rows_of,
)
from hes.db.tables import utc_now
from hes.services import reports

router = APIRouter(prefix="/api/reports", tags=["reports"])


def _identity(row: Sequence[object]) -> Sequence[object]:
    return row


@router.get("/consumption.csv", response_class=StreamingResponse, responses=CSV_RESPONSE)
async def export_consumption(
    session: SessionDep, principal: AnyUser, request: ConsumptionRequestDep
) -> StreamingResponse:
    """The consumption series `GET /api/consumption` answers with the same query, as a CSV download."""
    series = await reports.consumption_report(session, principal, request)
    document = csv_document(CONSUMPTION_CSV_HEADER, rows_of(consumption_csv_rows(series)), _identity)
    headers = {"Content-Disposition": csv_filename("consumption", utc_now())}
    return StreamingResponse(document, media_type=CSV_MEDIA_TYPE, headers=headers)


@router.get("/online-rate.csv", response_class=StreamingResponse, responses=CSV_RESPONSE)
async def export_online_rate(session: SessionDep, principal: Staff, area: AreaQuery = None) -> StreamingResponse:
    """Per area: meters in service, never online, online now, offline and the online rate; then a TOTAL row.

    With `area` (code or name): that area and its sub-areas. Within the caller's areas.
    """
    rows = await reports.online_rate(session, principal, area)
    document = csv_document(ONLINE_RATE_CSV_HEADER, rows_of(rows), online_rate_csv_row)
    headers = {"Content-Disposition": csv_filename("online-rate", utc_now())}
    return StreamingResponse(document, media_type=CSV_MEDIA_TYPE, headers=headers)
