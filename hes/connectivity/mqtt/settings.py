"""How HES Core reaches its MQTT broker and takes messages from it (built from `hes.config.Settings`)."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

_SCHEMES = {"mqtt": (False, 1883), "tcp": (False, 1883), "mqtts": (True, 8883), "ssl": (True, 8883)}
# MQTT 5 (3.1.2.11.3): Receive Maximum is a two-byte integer, 0 not allowed.
_RECEIVE_MAXIMUM_LIMIT = 65_535


@dataclass(frozen=True, slots=True)
class MqttSettings:
    """Broker address and credentials, session identity, and the uplink's batching and back-off.

    `receive_maximum` is how many QoS 1 messages the broker may have sent HES Core without acknowledgement
    (MQTT 5 Receive Maximum). HES Core acknowledges a message only once its readings are durable, so this is
    also the most messages held in HES Core's memory and the largest batch the channel can gather.
    """

    host: str
    port: int = 1883
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    # Stable per HES Core instance: the broker keeps the session (subscriptions, unacknowledged messages)
    # under this id, and hands it back on reconnect, after a restart too.
    client_id: str = ""
    # Empty: a plain subscription (one instance). A name: a shared subscription of every instance using it.
    share_group: str = ""
    session_expiry_s: int = 7 * 24 * 3600
    receive_maximum: int = 2_000
    keepalive_s: int = 30
    batch_readings: int = 5_000
    max_submits: int = 4
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if not self.host:
            raise ValueError("the MQTT broker host is empty")
        if not 1 <= self.receive_maximum <= _RECEIVE_MAXIMUM_LIMIT:
            raise ValueError(f"receive_maximum must be 1-{_RECEIVE_MAXIMUM_LIMIT}")
        if self.batch_readings < 1 or self.max_submits < 1:
            raise ValueError("batch_readings and max_submits must be positive")
        if not set("/+#").isdisjoint(self.share_group):
            raise ValueError("the shared subscription group must be a name without '/', '+', '#'")
        if not self.client_id:
            object.__setattr__(self, "client_id", default_client_id())

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        client_id: str = "",
        share_group: str = "",
        session_expiry_s: int = 7 * 24 * 3600,
        receive_maximum: int = 2_000,
    ) -> MqttSettings:
        """Settings from `mqtt://user:password@host:port` (`mqtts://` for TLS) and the session options.

        Raises:
            ValueError: not an mqtt/mqtts URL, or an option out of range.
        """
        parts = urlsplit(url)
        if parts.scheme not in _SCHEMES:
            raise ValueError(f"MQTT_URL must start with one of {sorted(_SCHEMES)}://")
        tls, default_port = _SCHEMES[parts.scheme]
        return cls(
            host=parts.hostname or "",
            port=parts.port or default_port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
            client_id=client_id,
            share_group=share_group,
            session_expiry_s=session_expiry_s,
            receive_maximum=receive_maximum,
        )


def default_client_id() -> str:
    """`hes-core-<host name>`: stable across restarts of one machine (set it explicitly in containers)."""
    return f"hes-core-{socket.gethostname()}"[:64]
