"""Wire schemas of alerts: the alert, the resolution note, the bulk acknowledgement and its report."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from hes.api.schemas.common import CamelModel, InputModel
from hes.services.alerts import MAX_BULK, AcknowledgeReport, AlertView


class AlertOut(CamelModel):
    """An alert as the API shows it (`model_validate` of a service's AlertView)."""

    id: int
    meter_id: int | None
    meter_number: str | None
    area_code: str | None
    alert_type: str
    severity: str
    status: str
    message: str
    occurrences: int
    first_seen_at: datetime
    last_seen_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None
    resolution_note: str | None


class AlertResolve(InputModel):
    """What was done about the alert; required, so every closed alert says why."""

    note: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class AlertBulkAcknowledge(InputModel):
    """The alerts to acknowledge at once."""

    ids: Annotated[list[Annotated[int, Field(ge=1, le=2**63 - 1)]], Field(min_length=1, max_length=MAX_BULK)]


class AcknowledgeReportOut(CamelModel):
    """Each alert id of a bulk acknowledgement, in the list of what happened to it."""

    acknowledged: list[int]
    already_acknowledged: list[int]
    already_resolved: list[int]
    not_found: list[int]
    not_allowed: list[int]

    @classmethod
    def of(cls, report: AcknowledgeReport) -> AcknowledgeReportOut:
        """The wire form of a service's report."""
        return cls(
            acknowledged=list(report.acknowledged),
            already_acknowledged=list(report.already_acknowledged),
            already_resolved=list(report.already_resolved),
            not_found=list(report.not_found),
            not_allowed=list(report.not_allowed),
        )


ALERT_CSV_HEADER = (
    "id",
    "alertType",
    "severity",
    "status",
    "meterNumber",
    "areaCode",
    "message",
    "occurrences",
    "firstSeenAt",
    "lastSeenAt",
    "acknowledgedBy",
    "acknowledgedAt",
    "resolvedBy",
    "resolvedAt",
    "resolutionNote",
)


def alert_csv_row(view: AlertView) -> tuple[object, ...]:
    """One alert as a CSV row, in `ALERT_CSV_HEADER` order."""
    return (
        view.id,
        view.alert_type,
        view.severity,
        view.status,
        view.meter_number,
        view.area_code,
        view.message,
        view.occurrences,
        view.first_seen_at,
        view.last_seen_at,
        view.acknowledged_by,
        view.acknowledged_at,
        view.resolved_by,
        view.resolved_at,
        view.resolution_note,
    )
