"""The association's transition table: every row, and what may never happen."""

from __future__ import annotations

from hes.simulator.dlms.association_state import ASSOCIABLE, TRANSITIONS, State, Trigger


def test_every_transition_row() -> None:
    expected = {
        Trigger.ASSOCIATE: State.ASSOCIATED,
        Trigger.ASSOCIATE_HLS: State.AUTHENTICATING,
        Trigger.REJECT: State.IDLE,
        Trigger.PROTOCOL_ERROR: State.ERROR,
    }
    assert ASSOCIABLE == (State.IDLE, State.AUTHENTICATING, State.ASSOCIATED, State.RELEASED)
    for state in ASSOCIABLE:
        for trigger, target in expected.items():
            assert TRANSITIONS[(state, trigger)] is target
    assert TRANSITIONS[(State.AUTHENTICATING, Trigger.AUTHENTICATE)] is State.ASSOCIATED
    assert TRANSITIONS[(State.AUTHENTICATING, Trigger.FAIL_AUTHENTICATION)] is State.IDLE
    assert TRANSITIONS[(State.AUTHENTICATING, Trigger.RELEASE)] is State.RELEASED
    assert TRANSITIONS[(State.ASSOCIATED, Trigger.RELEASE)] is State.RELEASED
    assert len(TRANSITIONS) == 4 * 4 + 4
    # Nothing leaves the error state, and an idle association cannot be released or authenticated.
    assert not [key for key in TRANSITIONS if key[0] is State.ERROR]
    assert (State.IDLE, Trigger.RELEASE) not in TRANSITIONS
    assert (State.IDLE, Trigger.AUTHENTICATE) not in TRANSITIONS
