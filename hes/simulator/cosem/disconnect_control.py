"""Disconnect control (class 70, Blue Book 4.5.8): the supply relay, its control state and control mode.

The control state moves by the transitions of the standard's state diagram (a-h), kept as one table below: what
each trigger does from each state, and in which control modes it may. A trigger asking for the state the object
is already in is accepted and changes nothing; any other trigger the mode does not allow is refused.
remote_disconnect (method 1) and remote_reconnect (method 2) are the triggers a client sends; the manual and local
ones (a button press, a limiter or prepaid credit running out) are for the simulator's scenarios. output_state
follows the state (true only when connected) and drives the meter state's relay, so an open relay stops
consumption.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum

from hes.obis.profile_types import CosemObjectSpec
from hes.simulator.cosem.base import ActionOutcome, CosemObject, ReadResult, Resolver
from hes.simulator.cosem.shared import Setting
from hes.simulator.cosem.state import MeterState
from hes.simulator.dlms.apdu_services import ActionResult
from hes.simulator.dlms.values import Data, DataType, boolean, enum

__all__ = [
    "TRANSITIONS",
    "ControlMode",
    "ControlState",
    "DisconnectControl",
    "Transition",
    "Trigger",
    "settled",
    "transition",
]


class ControlState(IntEnum):
    """control_state (attribute 3)."""

    DISCONNECTED = 0
    CONNECTED = 1
    READY_FOR_RECONNECTION = 2


class ControlMode(IntEnum):
    """control_mode (attribute 4): which triggers may move the state (see TRANSITIONS)."""

    NONE = 0  # always connected
    MODE_1 = 1
    MODE_2 = 2
    MODE_3 = 3
    MODE_4 = 4
    MODE_5 = 5
    MODE_6 = 6


class Trigger(Enum):
    """What asks the relay to move."""

    REMOTE_DISCONNECT = "remote_disconnect"
    REMOTE_RECONNECT = "remote_reconnect"
    MANUAL_DISCONNECT = "manual_disconnect"
    MANUAL_RECONNECT = "manual_reconnect"
    LOCAL_DISCONNECT = "local_disconnect"
    LOCAL_RECONNECT = "local_reconnect"


@dataclass(frozen=True, slots=True)
class Transition:
    """One arrow of the Blue Book's state diagram: a trigger from one state to another, in some control modes."""

    name: str
    trigger: Trigger
    source: ControlState
    target: ControlState
    modes: frozenset[int]


_ALL = frozenset({1, 2, 3, 4, 5, 6})
_DISCONNECTED, _CONNECTED, _READY = ControlState
TRANSITIONS = (
    Transition("a", Trigger.REMOTE_RECONNECT, _DISCONNECTED, _READY, frozenset({2, 4})),
    Transition("b", Trigger.REMOTE_DISCONNECT, _CONNECTED, _DISCONNECTED, _ALL),
    Transition("c", Trigger.REMOTE_DISCONNECT, _READY, _DISCONNECTED, _ALL),
    Transition("d", Trigger.REMOTE_RECONNECT, _DISCONNECTED, _CONNECTED, frozenset({1, 3, 5, 6})),
    Transition("e", Trigger.MANUAL_RECONNECT, _READY, _CONNECTED, _ALL),
    Transition("f", Trigger.MANUAL_DISCONNECT, _CONNECTED, _READY, frozenset({1, 2, 5})),
    Transition("g", Trigger.LOCAL_DISCONNECT, _CONNECTED, _READY, _ALL),
    Transition("h", Trigger.LOCAL_RECONNECT, _READY, _CONNECTED, frozenset({5, 6})),
)
_RECONNECTS = frozenset({Trigger.REMOTE_RECONNECT, Trigger.MANUAL_RECONNECT, Trigger.LOCAL_RECONNECT})


def transition(trigger: Trigger, state: ControlState, mode: int) -> Transition | None:
    """The transition `trigger` makes from `state` in control mode `mode`, or None."""
    return next((t for t in TRANSITIONS if (t.trigger, t.source) == (trigger, state) and mode in t.modes), None)


def settled(trigger: Trigger, state: ControlState, mode: int) -> bool:
    """Whether `state` is already where `trigger` leads: asking again is accepted and changes nothing.

    A reconnect is settled when connected (or when already armed by "a" in modes 2 and 4); a disconnect when the
    relay is open.
    """
    if trigger not in _RECONNECTS:
        return state is not _CONNECTED
    return state is _CONNECTED or any(
        (t.trigger, t.target) == (trigger, state) and mode in t.modes for t in TRANSITIONS
    )


_MODES = frozenset(ControlMode)


def _valid_mode(value: Data) -> bool:
    return value.value in _MODES


class DisconnectControl(CosemObject):
    """Disconnect control (class 70): moves the relay by the standard's transitions."""

    SETTINGS = (Setting(4, enum(ControlMode.MODE_1), check=_valid_mode),)  # control_mode

    def __init__(self, spec: CosemObjectSpec, state: MeterState, resolve: Resolver) -> None:
        super().__init__(spec, state, resolve)
        self.control_state = _CONNECTED if state.relay_connected() or self.mode == ControlMode.NONE else _DISCONNECTED

    def read(self, attribute: int) -> ReadResult | None:
        """output_state (2) and control_state (3)."""
        if attribute == 2:
            return boolean(self.control_state is _CONNECTED)
        if attribute == 3:
            return enum(self.control_state)
        return None

    def invoke(self, method: int, parameters: Data | None) -> ActionOutcome | None:
        """remote_disconnect (1) and remote_reconnect (2)."""
        if method == 1:
            return self._invoke(Trigger.REMOTE_DISCONNECT, 1, parameters)
        if method == 2:
            return self._invoke(Trigger.REMOTE_RECONNECT, 2, parameters)
        return None

    @property
    def mode(self) -> int:
        """The control mode."""
        value = self.stored(4).value
        return value if isinstance(value, int) else ControlMode.MODE_1

    def trigger(self, trigger: Trigger) -> bool:
        """Apply a trigger; False when the control mode does not allow it from the current state (no change)."""
        move = transition(trigger, self.control_state, self.mode)
        if move is None:
            return settled(trigger, self.control_state, self.mode)
        self.control_state = move.target
        self.state.set_relay_connected(move.target is _CONNECTED)
        return True

    def _invoke(self, trigger: Trigger, method: int, parameters: Data | None) -> ActionOutcome:
        if parameters is not None and parameters.type not in (DataType.INTEGER, DataType.NULL_DATA):
            return ActionResult.TYPE_UNMATCHED
        if not self.trigger(trigger):
            return ActionResult.OTHER_REASON  # the control mode does not allow it
        self.state.method_invoked(self.obis, method, parameters)
        return ActionResult.SUCCESS
