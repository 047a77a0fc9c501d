"""The event catalogue: names as the seed's clients use them, and a handler for every client event."""

from __future__ import annotations

from hes.realtime.events import ClientEvent, ServerEvent
from hes.realtime.namespace import HesNamespace


def test_server_event_names_are_the_seeds() -> None:
    assert {event.value for event in ServerEvent} == {
        "meter-reading-update",
        "meter-status-change",
        "alert-created",
        "event-logged",
        "command-update",
    }


def test_every_client_event_has_a_handler() -> None:
    assert {event.handler_name for event in ClientEvent} == {"on_join_room", "on_leave_room", "on_meter_update"}
    for event in ClientEvent:
        assert callable(getattr(HesNamespace, event.handler_name))
