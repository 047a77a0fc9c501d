"""Socket.IO for HES Core: sign-in on connect, meter/area/all rooms, coalesced live readings and notices."""

from hes.realtime.events import ClientEvent, ServerEvent
from hes.realtime.hub import RealtimeHub
from hes.realtime.namespace import HesNamespace
from hes.realtime.rooms import ALL_ROOM, area_room, meter_room
from hes.realtime.server import create_server, start_realtime, stop_realtime, with_socketio

__all__ = [
    "ALL_ROOM",
    "ClientEvent",
    "HesNamespace",
    "RealtimeHub",
    "ServerEvent",
    "area_room",
    "create_server",
    "meter_room",
    "start_realtime",
    "stop_realtime",
    "with_socketio",
]
