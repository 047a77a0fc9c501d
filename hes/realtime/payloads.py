"""What the server's events carry on the wire (camelCase JSON), and the shapes of the notices other services send.

The notices are Protocols: the alert rules, event log and command executor hand over their own frozen records, and
only the attributes below are read.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from hes.obis.codes import ObisCode

# A JSON object as python-socketio serialises it (values are JSON scalars, lists or objects).
Wire = dict[str, object]


class Notice(Protocol):
    """Anything about one meter, routed to that meter's room, its area's room and `all`."""

    @property
    def meter_id(self) -> int | None:
        """The meter concerned; None for fleet-wide notices (sent to `all` only)."""

    @property
    def area_code(self) -> str | None:
        """The meter's area code, for the area room; None when the meter has no area."""


class StatusNotice(Notice, Protocol):
    """A meter's communication status changed."""

    @property
    def meter_number(self) -> str:
        """The meter's number."""

    @property
    def status(self) -> str:
        """The status now (a MeterStatus value)."""

    @property
    def previous_status(self) -> str | None:
        """The status before, when known."""

    @property
    def last_seen_at(self) -> datetime | None:
        """When the meter was last heard from."""

    @property
    def changed_at(self) -> datetime:
        """When the change was noticed."""


class AlertNotice(Notice, Protocol):
    """An alert was raised (or a repeat counted on an open one)."""

    @property
    def id(self) -> int:
        """The alert's id."""

    @property
    def meter_number(self) -> str | None:
        """The meter's number."""

    @property
    def alert_type(self) -> str:
        """The rule that raised it, e.g. "tamper"."""

    @property
    def severity(self) -> str:
        """A Severity value."""

    @property
    def status(self) -> str:
        """An AlertStatus value."""

    @property
    def message(self) -> str:
        """What an operator reads."""

    @property
    def occurrences(self) -> int:
        """How many times it was seen while open."""

    @property
    def last_seen_at(self) -> datetime:
        """The latest occurrence."""


class EventNotice(Notice, Protocol):
    """An event was written to the event log."""

    @property
    def id(self) -> int:
        """The event's id."""

    @property
    def meter_number(self) -> str | None:
        """The meter's number."""

    @property
    def event_type(self) -> str:
        """A name from the event catalogue, e.g. "communication_lost"."""

    @property
    def category(self) -> str:
        """An EventCategory value."""

    @property
    def severity(self) -> str:
        """A Severity value."""

    @property
    def code(self) -> int | None:
        """The meter's own event code, when it sent one."""

    @property
    def occurred_at(self) -> datetime:
        """When it happened."""

    @property
    def details(self) -> Mapping[str, str | int | float | bool | None]:
        """Free-form scalar details."""


class CommandNotice(Notice, Protocol):
    """A remote command moved on (queued, running, finished)."""

    @property
    def id(self) -> int:
        """The command's id."""

    @property
    def meter_number(self) -> str | None:
        """The meter's number."""

    @property
    def command_type(self) -> str:
        """What was asked, e.g. "relay_disconnect"."""

    @property
    def status(self) -> str:
        """A CommandStatus value."""

    @property
    def requested_by(self) -> str:
        """Who asked."""

    @property
    def error(self) -> str | None:
        """Why it failed, when it did."""


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 with offset, as every time on the wire."""
    return moment.isoformat() if moment is not None else None


def reading_wire(obis: ObisCode | str, timestamp: datetime, value: float, unit: str | None) -> Wire:
    """One reading inside a meter's `meter-reading-update` entry (the code as an ObisCode or its text)."""
    return {"obis": str(obis), "timestamp": timestamp.isoformat(), "value": value, "unit": unit}


def status_wire(notice: StatusNotice) -> Wire:
    """One meter's entry in `meter-status-change`."""
    return {
        "meterId": notice.meter_id,
        "meterNumber": notice.meter_number,
        "areaCode": notice.area_code,
        "status": str(notice.status),
        "previousStatus": str(notice.previous_status) if notice.previous_status is not None else None,
        "lastSeenAt": iso(notice.last_seen_at),
        "changedAt": notice.changed_at.isoformat(),
    }


def alert_wire(alert: AlertNotice) -> Wire:
    """The `alert-created` payload."""
    return {
        "id": alert.id,
        "meterId": alert.meter_id,
        "meterNumber": alert.meter_number,
        "areaCode": alert.area_code,
        "alertType": alert.alert_type,
        "severity": str(alert.severity),
        "status": str(alert.status),
        "message": alert.message,
        "occurrences": alert.occurrences,
        "lastSeenAt": alert.last_seen_at.isoformat(),
    }


def event_wire(event: EventNotice) -> Wire:
    """The `event-logged` payload."""
    return {
        "id": event.id,
        "meterId": event.meter_id,
        "meterNumber": event.meter_number,
        "areaCode": event.area_code,
        "eventType": event.event_type,
        "category": str(event.category),
        "severity": str(event.severity),
        "code": event.code,
        "occurredAt": event.occurred_at.isoformat(),
        "details": dict(event.details),
    }


def command_wire(command: CommandNotice) -> Wire:
    """The `command-update` payload."""
    return {
        "id": command.id,
        "meterId": command.meter_id,
        "meterNumber": command.meter_number,
        "areaCode": command.area_code,
        "commandType": command.command_type,
        "status": str(command.status),
        "requestedBy": command.requested_by,
        "error": command.error,
    }
