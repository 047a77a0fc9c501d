"""The real-time hub: turns stored batches, status changes, alerts, events and commands into room emits.

Every emit goes through the Socket.IO server's client manager into `meter-{id}`, `area-{code}` and `all` rooms,
never a loop over sockets, so the Redis manager carries the same emits across several HES instances.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

import socketio  # type: ignore[import-untyped]  # python-socketio ships no type hints
from prometheus_client import Counter
from socketio.async_pubsub_manager import AsyncPubSubManager  # type: ignore[import-untyped]

from hes.db.enums import MeterStatus
from hes.ingest.records import MeterTouch, StoredBatch
from hes.realtime.coalescer import ReadingCoalescer
from hes.realtime.events import ServerEvent
from hes.realtime.payloads import (
    AlertNotice,
    CommandNotice,
    EventNotice,
    Notice,
    StatusNotice,
    Wire,
    alert_wire,
    command_wire,
    event_wire,
    status_wire,
)
from hes.realtime.rooms import ALL_ROOM, area_room, meter_room

logger = logging.getLogger(__name__)

NAMESPACE = "/"
# The shortest time between two emits of reading updates. A reading after a quiet spell leaves at once; while
# readings keep coming, those of one tick leave together as one emit per room, so a burst costs ten emits a
# second per room, not one per stored batch.
DEFAULT_TICK_S = 0.1
# A browser that cannot keep up (a slow link, a suspended laptop) would have emits pile up for it in this
# process's memory for as long as readings keep coming. Past this many packets waiting to be sent to it (about
# half a minute of reading updates for one room) it is disconnected: nothing more is queued for it, what is
# queued drains, and its Socket.IO client is told at the end ("io server disconnect"), on which a console
# connects again and loads the current values over REST.
DEFAULT_MAX_QUEUED_PACKETS = 300
SLOW_CLIENTS = Counter(
    "hes_realtime_slow_clients_disconnected_total", "Socket.IO clients disconnected for not keeping up with updates"
)


class RealtimeHub:
    """Fans stored readings and notices out to rooms; an IngestListener and the notifier of the other services."""

    def __init__(
        self,
        server: socketio.AsyncServer,
        *,
        coalesce_s: float = 1.0,
        tick_s: float = DEFAULT_TICK_S,
        max_queued_packets: int = DEFAULT_MAX_QUEUED_PACKETS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.server = server
        self._coalescer = ReadingCoalescer(coalesce_s)
        self._tick = tick_s
        self._max_queued = max_queued_packets
        self._clock = clock
        self._came_online: list[StatusNotice] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the emitting loop (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="realtime-hub")

    async def stop(self) -> None:
        """Stop the emitting loop; waiting updates are dropped (the readings are stored; clients reload on connect)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def batch_stored(self, batch: StoredBatch) -> None:
        """IngestListener: queue the batch's readings and comebacks for the next tick (never awaits I/O).

        With nobody connected the readings are not queued at all: a browser that connects loads the current
        values over REST, and live updates from then on.
        """
        if self._may_have_audience(None):
            self._coalescer.add(batch)
        self._came_online.extend(_ComeBack.of(touch) for touch in batch.meters if touch.came_online)
        self._wake.set()

    async def status_changed(self, changes: Sequence[StatusNotice]) -> None:
        """Emit `meter-status-change` for each change, one emit per room."""
        await self._emit_grouped(
            ServerEvent.METER_STATUS_CHANGE, [(change, partial(status_wire, change)) for change in changes]
        )

    async def alert_created(self, alert: AlertNotice) -> None:
        """Emit `alert-created` to the alert's meter, area and `all` rooms."""
        await self._emit(ServerEvent.ALERT_CREATED, alert_wire(alert), _rooms_of(alert))

    async def event_logged(self, event: EventNotice) -> None:
        """Emit `event-logged` to the event's meter, area and `all` rooms."""
        await self._emit(ServerEvent.EVENT_LOGGED, event_wire(event), _rooms_of(event))

    async def command_update(self, command: CommandNotice) -> None:
        """Emit `command-update` to the command's meter, area and `all` rooms."""
        await self._emit(ServerEvent.COMMAND_UPDATE, command_wire(command), _rooms_of(command))

    async def flush(self) -> float | None:
        """Emit every update that is due now; return when the next waiting meter is due (monotonic), if any."""
        updates, next_due = self._coalescer.release(self._clock())
        came_online, self._came_online = self._came_online, []
        if came_online:
            await self.status_changed(came_online)
        if updates:
            await self._disconnect_laggards()
            await self._emit_grouped(ServerEvent.METER_READING_UPDATE, [(update, update.wire) for update in updates])
        return next_due

    async def _run(self) -> None:
        next_due: float | None = None
        last_flush = -self._tick
        while True:
            timeout = None if next_due is None else max(0.0, next_due - self._clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()
            await asyncio.sleep(max(0.0, last_flush + self._tick - self._clock()))
            last_flush = self._clock()
            try:
                next_due = await self.flush()
            except Exception:  # a bad update must not end live updates for everyone
                logger.exception("real-time flush failed")
                next_due = None

    async def _emit_grouped(self, event: ServerEvent, entries: Iterable[tuple[Notice, Callable[[], Wire]]]) -> None:
        """One emit per room, carrying the entries of every meter that room shows.

        An entry's wire form is built once, and only when one of its rooms may have an audience.
        """
        audience: dict[str, bool] = {}
        by_room: dict[str, list[Wire]] = defaultdict(list)
        for notice, wire_of in entries:
            rooms = [room for room in _rooms_of(notice) if _cached(audience, room, self._may_have_audience)]
            if rooms:
                wire = wire_of()
                for room in rooms:
                    by_room[room].append(wire)
        sent_at = datetime.now(UTC).isoformat()
        for room, meters in by_room.items():
            await self._emit(event, {"sentAt": sent_at, "meters": meters}, (room,))

    async def _disconnect_laggards(self) -> None:
        """Disconnect this instance's clients with more than `max_queued_packets` waiting to be sent.

        Each connection is looked at once a flush, whatever the number of rooms it joined.
        """
        # engine.io's own sockets: one send queue per connection
        for eio_sid, socket in list(self.server.eio.sockets.items()):
            if socket.queue.qsize() <= self._max_queued:
                continue
            sid = self.server.manager.sid_from_eio_sid(eio_sid, NAMESPACE)
            if sid is None:  # not (or no longer) connected to the namespace: nothing is emitted to it
                continue
            SLOW_CLIENTS.inc()
            waiting = socket.queue.qsize()
            logger.warning("Socket.IO client %s disconnected: %d packets waiting to be sent to it", sid, waiting)
            try:
                await self.server.disconnect(sid, namespace=NAMESPACE, ignore_queue=True)
            except Exception:  # it may be gone already; the emit goes on for the others either way
                logger.exception("could not disconnect slow Socket.IO client %s", sid)

    async def _emit(self, event: ServerEvent, payload: Wire, rooms: Iterable[str]) -> None:
        """Emit to each room that may have an audience; a failure is logged, never raised to the caller."""
        for room in rooms:
            if not self._may_have_audience(room):
                continue
            try:
                await self.server.emit(event.value, payload, room=room, namespace=NAMESPACE)
            except Exception:  # a notifier must not break ingest or rules (IngestListener contract)
                logger.exception("could not emit %s to %s", event.value, room)

    def _may_have_audience(self, room: str | None) -> bool:
        """Whether anyone may be in `room` (None: connected at all)."""
        manager = self.server.manager
        # Behind the Redis manager the listeners may sit on another instance: always publish.
        if isinstance(manager, AsyncPubSubManager):
            return True
        return next(iter(manager.get_participants(NAMESPACE, room)), None) is not None


@dataclass(frozen=True, slots=True)
class _ComeBack:
    """A meter the ingest path heard from while it was not online (MeterTouch.came_online), as a status notice."""

    meter_id: int
    meter_number: str
    area_code: str | None
    last_seen_at: datetime
    changed_at: datetime
    status: str = MeterStatus.ONLINE
    previous_status: str | None = None  # the ingest path knows only that the meter was not online

    @classmethod
    def of(cls, touch: MeterTouch) -> _ComeBack:
        """The notice for one touched meter."""
        return cls(touch.meter_id, touch.meter_number, touch.area_code, touch.last_seen_at, touch.last_seen_at)


def _cached(known: dict[str, bool], room: str, may_have_audience: Callable[[str], bool]) -> bool:
    found = known.get(room)
    if found is None:
        found = known[room] = may_have_audience(room)
    return found


def _rooms_of(notice: Notice) -> tuple[str, ...]:
    rooms: list[str] = []
    if notice.meter_id is not None:
        rooms.append(meter_room(notice.meter_id))
    if notice.area_code:
        rooms.append(area_room(notice.area_code))
    rooms.append(ALL_ROOM)
    return tuple(rooms)
