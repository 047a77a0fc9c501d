"""What a meter connection reports to its driver, to log and count: frozen events from `drain_events()`.

Re-exported by hes.simulator.meter, which is where callers import them from.
"""

from __future__ import annotations

from dataclasses import dataclass

from hes.simulator.dlms.association import AssociationEvent
from hes.simulator.dlms.hdlc_link import LinkEvent

__all__ = ["CommunicationError", "ConnectionEvent", "FrameIgnored", "LinkChanged", "SessionEvent"]


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """Something an association of `meter_number` reported (established, rejected, released, request refused)."""

    meter_number: str
    client_sap: int
    event: AssociationEvent


@dataclass(frozen=True, slots=True)
class LinkChanged:
    """An HDLC link to `meter_number` connected (SNRM/UA) or disconnected (DISC/UA)."""

    meter_number: str
    event: LinkEvent


@dataclass(frozen=True, slots=True)
class FrameIgnored:
    """An HDLC frame for a station that is not on this line: ignored, as the standard requires on a multi-drop bus."""

    reason: str


@dataclass(frozen=True, slots=True)
class CommunicationError:
    """The connection ended because the peer broke the protocol (the meter it spoke to, when known)."""

    meter_number: str | None
    reason: str


ConnectionEvent = SessionEvent | LinkChanged | FrameIgnored | CommunicationError
