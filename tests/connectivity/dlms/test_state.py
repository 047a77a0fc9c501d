"""The session state table: every row, every missing row, and the paths a session takes."""

from __future__ import annotations

import pytest

from hes.connectivity.dlms.errors import LocalProtocolError
from hes.connectivity.dlms.state import OPEN_STATES, TRANSITIONS, SessionState, Trigger, transition

S, T = SessionState, Trigger


def test_every_row_of_the_table_moves_to_its_state() -> None:
    for (state, trigger), target in TRANSITIONS.items():
        assert transition(state, trigger) is target


def test_a_trigger_the_table_lacks_is_a_local_protocol_error() -> None:
    missing = [(state, trigger) for state in S for trigger in T if (state, trigger) not in TRANSITIONS]
    assert (S.IDLE, T.REQUEST) in missing and (S.CLOSED, T.REQUEST_ASSOCIATION) in missing
    for state, trigger in missing:
        with pytest.raises(LocalProtocolError, match=f"{trigger} is not allowed in state {state}"):
            transition(state, trigger)


def _walk(start: SessionState, *triggers: Trigger) -> list[SessionState]:
    states = [start]
    for trigger in triggers:
        states.append(transition(states[-1], trigger))
    return states


def test_the_paths_of_a_session() -> None:
    # Wrapper, no HLS: AARQ/AARE, two requests, release.
    assert _walk(S.IDLE, T.REQUEST_ASSOCIATION, T.ASSOCIATE, T.REQUEST, T.REQUEST, T.RELEASE, T.RELEASED) == [
        S.IDLE,
        S.ASSOCIATING,
        S.ASSOCIATED,
        S.ASSOCIATED,
        S.ASSOCIATED,
        S.RELEASING,
        S.CLOSED,
    ]
    # HDLC with HLS: SNRM/UA, AARQ/AARE, pass 3/4.
    assert _walk(S.IDLE, T.OPEN_LINK, T.REQUEST_ASSOCIATION, T.CHALLENGE, T.ASSOCIATE) == [
        S.IDLE,
        S.CONNECTING,
        S.ASSOCIATING,
        S.AUTHENTICATING,
        S.ASSOCIATED,
    ]


def test_any_open_state_can_fail_or_hang_up_and_error_stays_error() -> None:
    assert set(S) - {S.CLOSED, S.ERROR} == OPEN_STATES
    for state in OPEN_STATES:
        assert transition(state, T.FAIL) is S.ERROR
        assert transition(state, T.CLOSE) is S.CLOSED
    assert transition(S.ERROR, T.CLOSE) is S.ERROR and transition(S.ERROR, T.FAIL) is S.ERROR
    assert transition(S.CLOSED, T.CLOSE) is S.CLOSED
    with pytest.raises(LocalProtocolError):
        transition(S.CLOSED, T.FAIL)
