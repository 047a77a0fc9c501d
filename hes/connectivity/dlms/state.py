"""The client session's states and its legal transitions, as one table (habit 2).

    idle --open-link (SNRM, HDLC)--> connecting --request-association (AARQ)--> associating
    idle --request-association (wrapper)--> associating
    associating --associate (AARE accepted)--> associated
    associating --challenge (AARE accepted, HLS pass 3 sent)--> authenticating --associate--> associated
    associated --request (GET/SET/ACTION)--> associated
    associated --release (RLRQ, then DISC on HDLC)--> releasing --released--> closed
    any open state --fail--> error;  any open state --close (hang up)--> closed

Everything that changes a session's state goes through `transition`; a trigger the table lacks for the current
state is a local protocol error.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from hes.connectivity.dlms.errors import LocalProtocolError

__all__ = ["OPEN_STATES", "TRANSITIONS", "SessionState", "Trigger", "transition"]


class SessionState(StrEnum):
    """Where a client session is."""

    IDLE = "idle"
    CONNECTING = "connecting"  # HDLC SNRM sent, waiting for UA
    ASSOCIATING = "associating"  # AARQ sent, waiting for AARE
    AUTHENTICATING = "authenticating"  # HLS pass 3 sent, waiting for the meter's f(CtoS)
    ASSOCIATED = "associated"
    RELEASING = "releasing"  # RLRQ (and DISC on HDLC) sent
    CLOSED = "closed"
    ERROR = "error"


class Trigger(StrEnum):
    """What moves a session from one state to the next."""

    OPEN_LINK = "open-link"
    REQUEST_ASSOCIATION = "request-association"
    CHALLENGE = "challenge"
    ASSOCIATE = "associate"
    REQUEST = "request"
    RELEASE = "release"
    RELEASED = "released"
    FAIL = "fail"
    CLOSE = "close"


# States in which the session may still fail or be hung up.
OPEN_STATES = frozenset(
    {
        SessionState.IDLE,
        SessionState.CONNECTING,
        SessionState.ASSOCIATING,
        SessionState.AUTHENTICATING,
        SessionState.ASSOCIATED,
        SessionState.RELEASING,
    }
)

TRANSITIONS: Mapping[tuple[SessionState, Trigger], SessionState] = {
    (SessionState.IDLE, Trigger.OPEN_LINK): SessionState.CONNECTING,
    (SessionState.IDLE, Trigger.REQUEST_ASSOCIATION): SessionState.ASSOCIATING,
    (SessionState.CONNECTING, Trigger.REQUEST_ASSOCIATION): SessionState.ASSOCIATING,
    (SessionState.ASSOCIATING, Trigger.ASSOCIATE): SessionState.ASSOCIATED,
    (SessionState.ASSOCIATING, Trigger.CHALLENGE): SessionState.AUTHENTICATING,
    (SessionState.AUTHENTICATING, Trigger.ASSOCIATE): SessionState.ASSOCIATED,
    (SessionState.ASSOCIATED, Trigger.REQUEST): SessionState.ASSOCIATED,
    (SessionState.ASSOCIATED, Trigger.RELEASE): SessionState.RELEASING,
    (SessionState.RELEASING, Trigger.RELEASED): SessionState.CLOSED,
    (SessionState.ERROR, Trigger.FAIL): SessionState.ERROR,
    (SessionState.ERROR, Trigger.CLOSE): SessionState.ERROR,  # hanging up keeps the record that it failed
    **{(state, Trigger.FAIL): SessionState.ERROR for state in OPEN_STATES},
    **{(state, Trigger.CLOSE): SessionState.CLOSED for state in OPEN_STATES},
    (SessionState.CLOSED, Trigger.CLOSE): SessionState.CLOSED,
}


def transition(state: SessionState, trigger: Trigger) -> SessionState:
    """The state after `trigger` in `state`.

    Raises:
        LocalProtocolError: the table has no such transition (the caller moves the session to error).
    """
    try:
        return TRANSITIONS[(state, trigger)]
    except KeyError:
        raise LocalProtocolError(f"{trigger} is not allowed in state {state}") from None
