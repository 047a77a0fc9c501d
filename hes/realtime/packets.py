"""Socket.IO packets as HES Core sends them: JSON text only, encoded with msgspec.

python-socketio's own packet walks every payload element by element looking for bytes before each emit (to
choose a binary packet) and then encodes it with the standard `json` module. A `meter-reading-update` for the
`all` room carries thousands of meters a second; at 10,000 readings/s those two were a third of the server's
time (py-spy over bench/ingest.py's socketio section). HES Core never sends bytes in an event, so the walk is
skipped, and msgspec encodes the same JSON several times faster (a NaN it writes as null, which browsers can
parse, where the standard module writes NaN, which they cannot). python-socketio takes the class as its
`serializer` (a Packet subclass is its documented extension point), so nothing else changes: received packets,
binary ones included, are decoded as before.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
from socketio.packet import Packet  # type: ignore[import-untyped]  # python-socketio ships no type hints

_encoder = msgspec.json.Encoder()


class _MsgspecJson:
    """The `dumps`/`loads` pair python-socketio's packets call: msgspec writes, the standard module reads."""

    @staticmethod
    def dumps(data: Any, **_options: Any) -> str:
        """Compact JSON (python-socketio asks for compact separators, which is all msgspec writes)."""
        return _encoder.encode(data).decode()

    # Received packets keep the standard parser: it reads NaN and Infinity, which the meter-update handler then
    # refuses per reading with its reason rather than losing the whole packet.
    loads = staticmethod(json.loads)


class JsonPacket(Packet):  # type: ignore[misc]  # Packet is untyped
    """A Socket.IO packet that never looks for binary content to send and encodes its JSON with msgspec."""

    uses_binary_events = False
    json = _MsgspecJson
