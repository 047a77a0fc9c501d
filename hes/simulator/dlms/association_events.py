"""What an association tells its driver, to log: frozen events returned by `Association.drain_events()`.

Re-exported by `association`, which is where callers import them from.
"""

from __future__ import annotations

from dataclasses import dataclass

from hes.simulator.dlms.apdu import ExceptionServiceError, ExceptionStateError
from hes.simulator.dlms.apdu_association import AuthenticationMechanism, Conformance, InitiateError, SourceDiagnostic

__all__ = [
    "AssociationEstablished",
    "AssociationEvent",
    "AssociationRejected",
    "AssociationReleased",
    "AuthenticationFailed",
    "RequestRefused",
]


@dataclass(frozen=True, slots=True)
class AssociationEstablished:
    """The association is usable (after the HLS exchange for HLS)."""

    mechanism: AuthenticationMechanism
    client_system_title: bytes | None
    conformance: Conformance
    client_max_pdu_size: int
    ciphered: bool


@dataclass(frozen=True, slots=True)
class AssociationRejected:
    """An AARQ was answered with a rejecting AARE."""

    diagnostic: SourceDiagnostic
    initiate_error: InitiateError | None = None


@dataclass(frozen=True, slots=True)
class AuthenticationFailed:
    """The client's HLS answer f(StoC) did not verify: the association is dropped."""

    mechanism: AuthenticationMechanism


@dataclass(frozen=True, slots=True)
class AssociationReleased:
    """The client released the association (RLRQ)."""


@dataclass(frozen=True, slots=True)
class RequestRefused:
    """A request was answered with an exception-response."""

    reason: str
    state_error: ExceptionStateError
    service_error: ExceptionServiceError


AssociationEvent = (
    AssociationEstablished | AssociationRejected | AuthenticationFailed | AssociationReleased | RequestRefused
)
