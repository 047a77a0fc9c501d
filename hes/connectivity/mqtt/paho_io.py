"""How the channel's paho-mqtt client reads its socket and acknowledges messages: in chunks, not per packet.

paho-mqtt (under aiomqtt) reads each packet with three `recv` calls (type, length, body) and aiomqtt handles
one packet per event-loop wake-up; it sends each PUBACK as its own packet, with its own write-ready
registration through `call_soon_threadsafe`. At the thousands of messages a second a head-end takes, those
system calls and loop turns were a third of the channel's time (py-spy over bench/ingest_mqtt.py). Neither
library has a setting for it, so this module reaches into paho's private socket handling at two points, its
socket (`_sock`) and its outgoing packet queue (`_packet_queue`); paho-mqtt is pinned in pyproject.toml for them:

- `read_in_chunks`: paho's socket is wrapped in `ChunkedSocket`, which takes up to 64 KiB per `recv` system
  call and hands paho the bytes it asks for from that. Like an SSL socket, it reports the bytes it still
  holds through `pending()`, and aiomqtt's reader already keeps calling paho while a socket has pending bytes
  (it does so for TLS), so every packet of a chunk is handled in the same wake-up.
- `acknowledge`: the PUBACKs of a whole batch go out as one write.
"""

from __future__ import annotations

import struct
from collections.abc import Collection
from typing import Any

import aiomqtt
from paho.mqtt.client import PUBACK, Client

_CHUNK_BYTES = 65_536
# MQTT 3.1.1 and 5 (3.4): PUBACK, remaining length 2, packet identifier. MQTT 5 allows leaving out the reason
# code when it is 0 (success), which is what paho itself sends.
_PUBACK = struct.Struct("!BBH")


class ChunkedSocket:
    """A socket (plain or TLS) whose reads are served from the last chunk taken from the wire."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._chunk = b""
        self._position = 0

    def recv(self, size: int) -> bytes:
        """Up to `size` bytes, from the held chunk or else from one `recv` of up to 64 KiB.

        Raises:
            BlockingIOError: nothing is held and nothing waits on the socket (as the socket raises it).
        """
        if self._position >= len(self._chunk):
            self._chunk = self._sock.recv(max(size, _CHUNK_BYTES))
            self._position = 0
        start = self._position
        self._position = start + size
        return self._chunk[start : start + size]

    def pending(self) -> int:
        """Bytes read from the wire (or decrypted by TLS) that paho has not taken yet."""
        inner = self._sock.pending() if hasattr(self._sock, "pending") else 0
        return len(self._chunk) - self._position + inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)  # send, fileno, close, setblocking...: the socket's own


def read_in_chunks(client: aiomqtt.Client) -> None:
    """Make `client` read its socket in chunks, from every connection it opens from now on."""
    paho = client._client
    on_socket_open = paho.on_socket_open  # aiomqtt's: registers the socket with the event loop

    def wrap(paho_client: Client, userdata: Any, sock: Any) -> None:
        paho_client._sock = ChunkedSocket(sock)
        if on_socket_open is not None:
            on_socket_open(paho_client, userdata, sock)

    paho.on_socket_open = wrap


def acknowledge(client: aiomqtt.Client, mids: Collection[int]) -> None:
    """Send the PUBACKs of received QoS 1 messages in one write (on a lost connection the broker redelivers)."""
    if mids:
        packets = b"".join([_PUBACK.pack(PUBACK, 2, mid) for mid in mids])
        client._client._packet_queue(PUBACK, packets, 0, 1)
