"""Commands to meters over MQTT and the meters' acknowledgements, as the remote-operations code sees them.

HES Core publishes `{"commandId", "payload", "issuedAt"}` at QoS 1 on `hes/meters/{meterNumber}/commands`;
the meter answers on `hes/meters/{meterNumber}/commands/ack` with `{"commandId", "status", "details",
"timestamp"}`. An acknowledgement is handed to the `CommandAckHandler` and acknowledged to the broker only
after the handler returns, so an answer is never lost between the broker and the commands table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from hes.connectivity.mqtt.payloads import CommandAckPayload, CommandId, DetailValue
from hes.errors import HESError


@dataclass(frozen=True, slots=True)
class CommandAck:
    """A meter's answer to a command: `status` as the meter sent it (e.g. accepted, succeeded, failed)."""

    meter_number: str
    command_id: CommandId
    status: str
    details: Mapping[str, DetailValue]
    timestamp: datetime | None  # the meter's own time of the answer, when it sent one
    received_at: datetime

    @classmethod
    def of(cls, meter_number: str, payload: CommandAckPayload, received_at: datetime) -> CommandAck:
        """The acknowledgement a decoded payload from `meter_number`'s ack topic carries."""
        return cls(meter_number, payload.command_id, payload.status, payload.details, payload.timestamp, received_at)


# Called for every acknowledgement; must be idempotent (the broker redelivers one whose handler raised).
CommandAckHandler = Callable[[CommandAck], Awaitable[None]]


class MqttUnavailable(HESError):
    """HES Core is not connected to the MQTT broker, or the broker did not take the message in time."""

    def __init__(self, message: str = "the MQTT broker is not reachable") -> None:
        super().__init__(message, code="mqtt_unavailable")
