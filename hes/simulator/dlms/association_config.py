"""What one association of the simulated meter is given: its fixed configuration, its COSEM objects, its counters.

`AssociationConfig` is frozen for the association's lifetime; `SecurityState` outlives it (the invocation counters
must keep growing across associations); `ObjectModel` is the protocol the meter's COSEM objects implement. All are
re-exported by `association`, which is where callers import them from.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from hes.simulator.dlms.apdu_association import AuthenticationMechanism, Conformance
from hes.simulator.dlms.apdu_services import AccessSelection, ActionResult, DataAccessResult
from hes.simulator.dlms.security import SYSTEM_TITLE_LENGTH, InvocationCounter, InvocationCounterGuard, Keys, Protection
from hes.simulator.dlms.values import Data

__all__ = [
    "DEFAULT_CONFORMANCE",
    "HLS_CHALLENGE_LENGTHS",
    "MIN_PDU_SIZE",
    "SUPPORTED_MECHANISMS",
    "AssociationConfig",
    "ObjectModel",
    "SecurityState",
]

# Smallest max-receive-PDU-size either side may declare. gurux-dlms refuses a server below 64 octets, and 64
# still leaves a ciphered GET-Response-With-Datablock (up to 42 octets of headers) room for data.
MIN_PDU_SIZE = 64

# What the simulated meter offers (0x007A1D): GET/SET/ACTION, selective access, with-list, block transfer for GET
# and SET, attribute 0 with GET and priority management; an IDIS meter's set without the ACTION block transfer
# and event notification it does not implement. general-protection is opt-in (`AssociationConfig.conformance`):
# a client that negotiates it sends general-glo-ciphering instead of service-specific ciphering.
DEFAULT_CONFORMANCE = (
    Conformance.GET
    | Conformance.SET
    | Conformance.ACTION
    | Conformance.SELECTIVE_ACCESS
    | Conformance.MULTIPLE_REFERENCES
    | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
    | Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE
    | Conformance.PRIORITY_MGMT_SUPPORTED
    | Conformance.ATTRIBUTE0_SUPPORTED_WITH_GET
)

SUPPORTED_MECHANISMS = frozenset(
    {AuthenticationMechanism.NONE, AuthenticationMechanism.LLS, AuthenticationMechanism.HLS_GMAC}
)
HLS_CHALLENGE_LENGTHS = range(8, 65)  # IEC 62056-5-3 9.2.2.2.2: challenges of 8 to 64 octets


class ObjectModel(Protocol):
    """The meter's COSEM objects, as the association calls them; `obis` is the 6-octet instance id."""

    def get(
        self, class_id: int, obis: bytes, attribute: int, access: AccessSelection | None
    ) -> Data | DataAccessResult:
        """Read an attribute (with selective access when `access` is given)."""
        ...

    def set(
        self, class_id: int, obis: bytes, attribute: int, access: AccessSelection | None, value: Data
    ) -> DataAccessResult:
        """Write an attribute."""
        ...

    def action(self, class_id: int, obis: bytes, method: int, parameters: Data | None) -> Data | ActionResult | None:
        """Invoke a method: return data on success, None for success without data, or the failing result."""
        ...


@dataclass(frozen=True, slots=True)
class AssociationConfig:
    """Everything one association of the meter needs to know, fixed for its lifetime (one per client SAP)."""

    system_title: bytes
    authentication: AuthenticationMechanism = AuthenticationMechanism.NONE
    lls_password: bytes | None = None
    keys: Keys | None = None  # global unicast encryption key and authentication key
    security_policy: Protection = Protection.NONE  # protection every xDLMS request must carry
    server_max_pdu_size: int = 1024
    conformance: Conformance = DEFAULT_CONFORMANCE
    challenge_length: int = 16
    challenge_source: Callable[[int], bytes] = field(default=secrets.token_bytes, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Plain ints are accepted and stored as the enums the association compares against.
        object.__setattr__(self, "authentication", AuthenticationMechanism(self.authentication))
        object.__setattr__(self, "security_policy", Protection(self.security_policy))
        object.__setattr__(self, "conformance", Conformance(self.conformance))
        if len(self.system_title) != SYSTEM_TITLE_LENGTH:
            raise ValueError(f"system title must be {SYSTEM_TITLE_LENGTH} octets")
        if self.authentication not in SUPPORTED_MECHANISMS:
            raise ValueError(f"authentication {self.authentication.name} is not supported")
        if self.authentication == AuthenticationMechanism.LLS and not self.lls_password:
            raise ValueError("LLS needs a password")
        needs_keys = self.authentication == AuthenticationMechanism.HLS_GMAC or self.security_policy
        if needs_keys and self.keys is None:
            raise ValueError("HLS-GMAC and a security policy need keys")
        if not MIN_PDU_SIZE <= self.server_max_pdu_size <= 0xFFFF:
            raise ValueError(f"server max PDU size must be {MIN_PDU_SIZE}..65535")
        if self.challenge_length not in HLS_CHALLENGE_LENGTHS:
            raise ValueError("challenge length must be 8..64 octets")

    def __repr__(self) -> str:
        # No password or key in a log line.
        return f"AssociationConfig(system_title={self.system_title.hex()}, authentication={self.authentication.name})"


@dataclass(slots=True)
class SecurityState:
    """Counters that outlive one association: the meter's own invocation counter and the client's last one."""

    meter_counter: InvocationCounter = field(default_factory=InvocationCounter)
    client_guard: InvocationCounterGuard = field(default_factory=InvocationCounterGuard)
