"""The meter-side association's states, the outcomes that move it, and the one table of legal transitions.

IEC 62056-5-3 9.4.4 / Green Book 9.4: idle -> associated, or idle -> authenticating -> associated for HLS (the
association is only usable once the client answered the challenge), associated -> released, and error once the
peer sent garbage. Re-exported by `association`, which is the only module that moves an association.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["ASSOCIABLE", "TRANSITIONS", "State", "Trigger"]


class State(Enum):
    """Association state (IEC 62056-5-3 9.4.4 / Green Book 9.4: the AA state machine of the server)."""

    IDLE = "idle"
    AUTHENTICATING = "authenticating"  # AARE accepted, HLS pass 3/4 (the client's f(StoC)) still due
    ASSOCIATED = "associated"
    RELEASED = "released"
    ERROR = "error"


class Trigger(Enum):
    """Outcomes that move the association."""

    ASSOCIATE = "associate"  # AARQ accepted, no HLS
    ASSOCIATE_HLS = "associate-hls"  # AARQ accepted, challenge sent
    REJECT = "reject"  # AARQ rejected
    AUTHENTICATE = "authenticate"  # the client's f(StoC) verified
    FAIL_AUTHENTICATION = "fail-authentication"
    RELEASE = "release"
    PROTOCOL_ERROR = "protocol-error"  # the peer sent garbage


ASSOCIABLE = (State.IDLE, State.AUTHENTICATING, State.ASSOCIATED, State.RELEASED)
TRANSITIONS: dict[tuple[State, Trigger], State] = {
    # A new AARQ is served in every live state and replaces the association (a HES that lost the AARE retries).
    **{(state, Trigger.ASSOCIATE): State.ASSOCIATED for state in ASSOCIABLE},
    **{(state, Trigger.ASSOCIATE_HLS): State.AUTHENTICATING for state in ASSOCIABLE},
    **{(state, Trigger.REJECT): State.IDLE for state in ASSOCIABLE},
    (State.AUTHENTICATING, Trigger.AUTHENTICATE): State.ASSOCIATED,
    (State.AUTHENTICATING, Trigger.FAIL_AUTHENTICATION): State.IDLE,
    (State.AUTHENTICATING, Trigger.RELEASE): State.RELEASED,
    (State.ASSOCIATED, Trigger.RELEASE): State.RELEASED,
    **{(state, Trigger.PROTOCOL_ERROR): State.ERROR for state in ASSOCIABLE},
}
