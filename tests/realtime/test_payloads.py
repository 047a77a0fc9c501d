"""Wire shapes: camelCase, ISO 8601 times with their offset, enum values as text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from hes.db.enums import CommandStatus, MeterStatus
from hes.obis.codes import ObisCode
from hes.realtime.payloads import command_wire, iso, reading_wire, status_wire

T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)


@dataclass(frozen=True)
class _Status:
    meter_id: int | None = 3
    area_code: str | None = None
    meter_number: str = "M-3"
    status: str = MeterStatus.OFFLINE
    previous_status: str | None = MeterStatus.ONLINE
    last_seen_at: datetime | None = None
    changed_at: datetime = T0


@dataclass(frozen=True)
class _Command:
    id: int = 4
    meter_id: int | None = 3
    area_code: str | None = "A"
    meter_number: str | None = "M-3"
    command_type: str = "relay_reconnect"
    status: str = CommandStatus.FAILED
    requested_by: str = "op"
    error: str | None = "meter unreachable"


def test_times_keep_their_offset() -> None:
    lagos = timezone(timedelta(hours=1))
    assert iso(T0.astimezone(lagos)) == "2024-05-01T13:00:00+01:00"
    assert iso(None) is None


def test_a_reading_entry() -> None:
    assert reading_wire(ObisCode.parse("1.0.1.8.0.255"), T0, 1.5, None) == {
        "obis": "1-0:1.8.0.255",
        "timestamp": "2024-05-01T12:00:00+00:00",
        "value": 1.5,
        "unit": None,
    }


def test_a_status_entry_and_a_command_use_enum_values() -> None:
    assert status_wire(_Status()) == {
        "meterId": 3,
        "meterNumber": "M-3",
        "areaCode": None,
        "status": "offline",
        "previousStatus": "online",
        "lastSeenAt": None,
        "changedAt": "2024-05-01T12:00:00+00:00",
    }
    assert command_wire(_Command())["status"] == "failed"
    assert command_wire(_Command())["error"] == "meter unreachable"
