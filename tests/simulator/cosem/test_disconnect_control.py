"""Disconnect control: remote disconnect / reconnect, every transition of the table in every mode, and refusals."""

from __future__ import annotations

import pytest

from hes.obis import load_profile
from hes.simulator.cosem import ControlState, DisconnectControl, InMemoryMeterState, MeterObjects, Trigger
from hes.simulator.cosem.disconnect_control import TRANSITIONS, Transition, transition
from hes.simulator.dlms.apdu_services import ActionResult, DataAccessResult
from hes.simulator.dlms.values import Data, DataType, boolean, enum, integer, octets
from tests.simulator.cosem.conftest import READING, ln

RELAY = ln("0-0:96.3.10.255")
DISCONNECTED, CONNECTED, READY = ControlState


def _relay(state: InMemoryMeterState, mode: int, control_state: ControlState) -> DisconnectControl:
    relay = DisconnectControl(load_profile("idis").get("0-0:96.3.10.255"), state, lambda class_id, obis: None)
    assert relay.set(4, enum(mode)) is DataAccessResult.SUCCESS
    relay.control_state = control_state
    state.connected = control_state is CONNECTED
    return relay


def test_attributes_of_a_connected_meter(meter: MeterObjects) -> None:
    assert meter.get(70, RELAY, 2) == boolean(True)
    assert meter.get(70, RELAY, 3) == enum(CONNECTED)
    assert meter.get(70, RELAY, 4) == enum(1)


def test_remote_disconnect_and_reconnect(meter: MeterObjects, state: InMemoryMeterState) -> None:
    assert meter.action(70, RELAY, 1, integer(0)) is None
    assert (meter.get(70, RELAY, 2), meter.get(70, RELAY, 3)) == (boolean(False), enum(DISCONNECTED))
    assert state.connected is False
    assert meter.action(70, RELAY, 1, integer(0)) is None  # again: already disconnected, nothing changes
    assert meter.action(70, RELAY, 2, integer(0)) is None  # mode 1: straight back to connected (d)
    assert (meter.get(70, RELAY, 2), meter.get(70, RELAY, 3)) == (boolean(True), enum(CONNECTED))
    assert state.connected is True
    assert [entry[1] for entry in state.invocations] == [1, 1, 2]


def test_mode_2_reconnect_waits_for_the_customer(meter: MeterObjects, state: InMemoryMeterState) -> None:
    assert meter.set(70, RELAY, 4, None, enum(2)) is DataAccessResult.SUCCESS
    meter.action(70, RELAY, 1, integer(0))
    assert meter.action(70, RELAY, 2, integer(0)) is None  # a: armed, still open
    assert (meter.get(70, RELAY, 2), meter.get(70, RELAY, 3)) == (boolean(False), enum(READY))
    assert state.connected is False
    relay = meter.object("0-0:96.3.10.255")
    assert isinstance(relay, DisconnectControl) and relay.trigger(Trigger.MANUAL_RECONNECT)  # e: the button
    assert meter.get(70, RELAY, 3) == enum(CONNECTED) and state.connected is True


def test_mode_0_is_always_connected(meter: MeterObjects, state: InMemoryMeterState) -> None:
    assert meter.set(70, RELAY, 4, None, enum(0)) is DataAccessResult.SUCCESS
    assert meter.action(70, RELAY, 1, integer(0)) is ActionResult.OTHER_REASON
    assert meter.action(70, RELAY, 2, integer(0)) is None  # already connected
    assert meter.get(70, RELAY, 3) == enum(CONNECTED) and state.connected is True


@pytest.mark.parametrize("move", TRANSITIONS, ids=lambda move: move.name)
@pytest.mark.parametrize("mode", range(1, 7))
def test_every_transition_in_every_mode(state: InMemoryMeterState, move: Transition, mode: int) -> None:
    relay = _relay(state, mode, move.source)
    relay.trigger(move.trigger)
    if mode in move.modes:
        assert relay.control_state is move.target
    else:  # another transition of the same trigger (a / d), or none: never this one's target
        assert relay.control_state is not move.target
    assert relay.get(2) == boolean(relay.control_state is CONNECTED)
    assert state.connected is (relay.control_state is CONNECTED)


@pytest.mark.parametrize(
    ("trigger", "source", "mode", "accepted"),
    [
        (Trigger.REMOTE_RECONNECT, READY, 1, False),  # after a local disconnect, mode 1 needs the button
        (Trigger.REMOTE_RECONNECT, READY, 2, True),  # already armed
        (Trigger.REMOTE_RECONNECT, CONNECTED, 4, True),
        (Trigger.MANUAL_DISCONNECT, CONNECTED, 3, False),  # f is not in mode 3
        (Trigger.LOCAL_RECONNECT, READY, 1, False),  # h only in modes 5 and 6
        (Trigger.LOCAL_DISCONNECT, DISCONNECTED, 1, True),
    ],
)
def test_triggers_without_a_transition(
    state: InMemoryMeterState, trigger: Trigger, source: ControlState, mode: int, accepted: bool
) -> None:
    assert transition(trigger, source, mode) is None
    relay = _relay(state, mode, source)
    assert relay.trigger(trigger) is accepted
    assert relay.control_state is source


def test_control_mode_and_parameters_are_checked(meter: MeterObjects) -> None:
    assert meter.set(70, RELAY, 4, None, enum(7)) is DataAccessResult.OTHER_REASON
    assert meter.set(70, RELAY, 4, None, integer(1)) is DataAccessResult.TYPE_UNMATCHED
    assert meter.set(70, RELAY, 2, None, boolean(False)) is DataAccessResult.READ_WRITE_DENIED
    assert meter.action(70, RELAY, 1, octets(b"now")) is ActionResult.TYPE_UNMATCHED
    assert meter.action(70, RELAY, 1, None) is None  # no parameters: accepted
    assert meter.action(70, RELAY, 3, integer(0)) is ActionResult.READ_WRITE_DENIED  # no method 3


def test_the_reading_client_sees_but_cannot_switch(meter: MeterObjects) -> None:
    reading = meter.for_client(READING)
    assert reading.action(70, RELAY, 1, integer(0)) is ActionResult.READ_WRITE_DENIED
    meter.action(70, RELAY, 1, integer(0))
    assert reading.get(70, RELAY, 3) == enum(DISCONNECTED)  # the same relay for every client


def test_a_meter_whose_relay_is_open_starts_disconnected(state: InMemoryMeterState) -> None:
    state.connected = False
    objects = MeterObjects.build(load_profile("hexcell"), state, 0x11)
    assert objects.get(70, RELAY, 3) == enum(DISCONNECTED)
    assert objects.action(70, RELAY, 2, integer(0)) is None  # Hexcell: both methods, mode 1 by default
    assert objects.get(70, RELAY, 2) == Data(DataType.BOOLEAN, True)
