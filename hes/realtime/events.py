"""The Socket.IO event catalogue: every event name HES Core sends or accepts, in one place (names from the seed)."""

from __future__ import annotations

from enum import StrEnum


class ServerEvent(StrEnum):
    """Events the server emits to rooms; payloads are camelCase JSON objects."""

    # {"sentAt", "meters": [{"meterId", "meterNumber", "areaCode", "lastSeenAt", "readings": [...]}]}
    METER_READING_UPDATE = "meter-reading-update"
    # {"sentAt", "meters": [{"meterId", "meterNumber", "areaCode", "status", "previousStatus", "lastSeenAt", ...}]}
    METER_STATUS_CHANGE = "meter-status-change"
    # {"id", "meterId", "meterNumber", "areaCode", "alertType", "severity", "status", "message", ...}
    ALERT_CREATED = "alert-created"
    # {"id", "meterId", "meterNumber", "areaCode", "eventType", "category", "severity", "code", ...}
    EVENT_LOGGED = "event-logged"
    # {"id", "meterId", "meterNumber", "areaCode", "commandType", "status", "requestedBy", ...}
    COMMAND_UPDATE = "command-update"


class ClientEvent(StrEnum):
    """Events a client may send; each is handled by the namespace method `on_<name with _ for ->`."""

    # {"room": "meter-12" | "area-LAG" | "all"} (or the bare room name); ack {"ok", "error"}
    JOIN_ROOM = "join-room"
    LEAVE_ROOM = "leave-room"
    # Device clients only: {"readings": [{"meterNumber", "obis", "timestamp", "value", "unit"}]};
    # ack {"accepted", "duplicates", "rejected": [{"index", "reason"}], "error"} once durable
    METER_UPDATE = "meter-update"

    @property
    def handler_name(self) -> str:
        """The namespace method that handles this event (`join-room` -> `on_join_room`)."""
        return "on_" + self.value.replace("-", "_")


# Socket.IO's own lifecycle events, dispatched by python-socketio itself with their own arguments.
LIFECYCLE_EVENTS = frozenset({"connect", "disconnect"})
