"""Wire schemas of the event log, and the CSV form that event and alert downloads share."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from hes.api.schemas.common import CamelModel
from hes.services.events import EventView

RowT = TypeVar("RowT")

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
# Rows per chunk sent to the client: small enough to start at once, large enough to keep writes few.
_ROWS_PER_CHUNK = 500
# Spreadsheets run a cell starting with these as a formula (CSV injection, OWASP): such text gets a quote mark.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class EventOut(CamelModel):
    """An event as the API shows it (`model_validate` of a service's EventView)."""

    id: int
    meter_id: int | None
    meter_number: str | None
    area_code: str | None
    event_type: str
    code: int | None
    severity: str
    category: str
    occurred_at: datetime
    received_at: datetime
    details: dict[str, Any]


EVENT_CSV_HEADER = (
    "id",
    "occurredAt",
    "receivedAt",
    "meterNumber",
    "areaCode",
    "eventType",
    "code",
    "category",
    "severity",
    "details",
)


def event_csv_row(view: EventView) -> tuple[object, ...]:
    """One event as a CSV row, in `EVENT_CSV_HEADER` order."""
    details = json.dumps(dict(view.details), sort_keys=True) if view.details else None
    return (
        view.id,
        view.occurred_at,
        view.received_at,
        view.meter_number,
        view.area_code,
        view.event_type,
        view.code,
        view.category,
        view.severity,
        details,
    )


async def csv_document(
    header: Sequence[str], rows: AsyncIterator[RowT], to_row: Callable[[RowT], Sequence[object]]
) -> AsyncIterator[str]:
    """A CSV file in chunks: BOM and header, then the rows (CRLF, as RFC 4180 and Excel expect)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    # The BOM makes Excel open the file as UTF-8, as for the import templates.
    buffer.write("\ufeff")
    writer.writerow(header)
    pending = 0
    async for row in rows:
        writer.writerow([_cell(value) for value in to_row(row)])
        pending += 1
        if pending == _ROWS_PER_CHUNK:
            yield _drain(buffer)
            pending = 0
    yield _drain(buffer)


def csv_filename(name: str, moment: datetime) -> str:
    """`Content-Disposition` value for a download named after what it holds and when it was taken."""
    return f'attachment; filename="{name}-{moment:%Y%m%dT%H%M%SZ}.csv"'


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, datetime):
        # As the JSON answers write UTC.
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value
