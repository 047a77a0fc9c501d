"""The asyncio driver of one meter-side connection: octets between a socket and a sans-IO `MeterConnection`.

Used for every way a meter meets a HES: a connection the HES opened (hes.simulator.server, listen mode) and one
the meter opened (hes.simulator.dial_in). It reads octets, hands them to the connection, and sends each `Answer`
the way the meter's faults say (hes.simulator.injection: delayed, slowed, spoiled, withheld, or followed by a
hang-up). It also logs the connection's events, and ends the connection on:
- the peer's EOF, a protocol error (the MeterConnection closes), or a fault (drop mid-block, flapping); on the
  shared HDLC port that hangs up every meter of the connection, as a link dropping under a multi-drop line does;
- `inactivity_timeout` seconds without an exchange: nothing received since the last answer went out (keep-alive
  messages the meter sends on its own do not count);
- a peer that leaves our answers unread for `write_timeout` seconds.
A keep-alive, when given, is sent after `interval` seconds with no octet either way (dial-in mode).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

from hes.simulator.injection import Delivery, MeterFaults
from hes.simulator.meter import (
    Answer,
    CommunicationError,
    ConnectionEvent,
    FrameIgnored,
    MeterConnection,
    SimulatedMeter,
)

__all__ = ["ConnectionDriver", "FaultsOf", "Keepalive", "ServerLimits", "log_events"]

logger = logging.getLogger(__name__)

# Octets read from a socket at a time: a few wrapper frames or HDLC frames; the framers bound what they buffer.
_READ_CHUNK = 4096
# A slow meter writes in slices of about this many seconds, not octet by octet: the same pace, far fewer timers.
_SLOW_SLICE = 0.02

# The faults of a meter (a healthy meter has an empty MeterFaults).
FaultsOf = Callable[[SimulatedMeter], MeterFaults]


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """Bounds on what clients can make the simulator hold; defaults follow OSGP's head-end defaults where it has one."""

    max_connections: int = 1000  # open connections across the fleet (OSGP allows 1,000 concurrent meter connections)
    inactivity_timeout: float = 120.0  # seconds without a received octet before the meter hangs up (OSGP: 120 s)
    write_timeout: float = 30.0  # seconds a peer may leave our answer unread before we give up on it
    shutdown_timeout: float = 5.0  # seconds close() waits for connection tasks to finish

    def __post_init__(self) -> None:
        if self.max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        if min(self.inactivity_timeout, self.write_timeout, self.shutdown_timeout) <= 0:
            raise ValueError("timeouts must be positive")


@dataclass(frozen=True, slots=True)
class Keepalive:
    """A message the meter sends when the connection has been quiet for `interval` seconds."""

    interval: float
    message: Callable[[], bytes]


def _healthy(meter: SimulatedMeter) -> MeterFaults:
    return MeterFaults(())


class ConnectionDriver:
    """Serves one MeterConnection over one asyncio stream until it ends; the caller closes the writer."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        connection: MeterConnection,
        *,
        limits: ServerLimits,
        peer: object,
        latency: float = 0.0,
        faults: FaultsOf = _healthy,
        keepalive: Keepalive | None = None,
    ) -> None:
        """A driver for `connection`; `latency` (seconds) delays every answer, on top of the meter's faults."""
        self._reader = reader
        self._writer = writer
        self._connection = connection
        self._limits = limits
        self._peer = peer
        self._latency = latency
        self._faults = faults
        self._keepalive = keepalive
        self._reached: set[str] = set()
        self._end = math.inf  # loop time at which a flapping meter hangs up
        loop = asyncio.get_running_loop()
        self._time = loop.time
        self._heard = self._active = self._time()

    async def run(self, meter: SimulatedMeter | None = None) -> None:
        """Serve until the connection ends; `meter` is the meter the connection reaches, when known up front.

        Raises:
            ConnectionError, OSError: the socket failed (the caller logs it and closes the writer).
        """
        if meter is not None and not self._reach(meter):
            return
        while not self._connection.closed:
            try:
                async with asyncio.timeout(self._next_wake() - self._time()):
                    data = await self._reader.read(_READ_CHUNK)
            except TimeoutError:
                if not await self._on_quiet():
                    return
                continue
            self._heard = self._active = self._time()
            answers = self._connection.receive_answers(data)
            log_events(self._connection.drain_events(), self._peer)
            for answer in answers:
                if not await self._deliver(answer):
                    return
            if answers:
                self._heard = self._time()  # a late answer's wait is the meter's silence, not the peer's
            if not data:
                return

    def _next_wake(self) -> float:
        wake = min(self._heard + self._limits.inactivity_timeout, self._end)
        if self._keepalive is not None:
            wake = min(wake, self._active + self._keepalive.interval)
        return wake

    async def _on_quiet(self) -> bool:
        """What to do when the read timed out: hang up, or send a keep-alive and go on reading."""
        now = self._time()
        if now >= self._end:
            logger.info("connection %s closed: the meter's link flaps", self._peer)
            return False
        if now >= self._heard + self._limits.inactivity_timeout:
            logger.info("connection %s closed after %.0f s of silence", self._peer, self._limits.inactivity_timeout)
            return False
        if self._keepalive is not None and now >= self._active + self._keepalive.interval:
            return await self._write(self._keepalive.message(), 0.0)
        return True

    def _reach(self, meter: SimulatedMeter) -> bool:
        """Apply the connection-level faults the first time this connection reaches `meter`; False: hang up."""
        if meter.meter_number in self._reached:
            return True
        self._reached.add(meter.meter_number)
        faults = self._faults(meter)
        if not faults.admit():
            logger.info("meter %s: connection %s refused (flapping)", meter.meter_number, self._peer)
            return False
        lifetime = faults.lifetime()
        if lifetime is not None:
            self._end = min(self._end, self._time() + lifetime)
        return True

    async def _deliver(self, answer: Answer) -> bool:
        """Send one answer as the meter's faults say; False when the connection must end."""
        meter = answer.meter
        if meter is not None and not self._reach(meter):
            return False
        delivery = self._faults(meter).deliver(answer) if meter is not None else Delivery(answer.data)
        try:
            async with asyncio.timeout(self._end - self._time() if self._end < math.inf else None):
                if self._latency + delivery.delay:
                    await asyncio.sleep(self._latency + delivery.delay)
                if delivery.data and not await self._write(delivery.data, delivery.seconds_per_byte):
                    return False
        except TimeoutError:
            logger.info("connection %s closed while answering: the meter's link flaps", self._peer)
            return False
        if delivery.close:
            logger.info(
                "meter %s: connection %s dropped mid-block (fault)", getattr(meter, "meter_number", None), self._peer
            )
            return False
        return True

    async def _write(self, data: bytes, seconds_per_byte: float) -> bool:
        """Write `data` (paced when `seconds_per_byte`); False when the peer leaves it unread too long."""
        step = max(1, int(_SLOW_SLICE / seconds_per_byte)) if seconds_per_byte else len(data)
        for start in range(0, len(data), step):
            if start and seconds_per_byte:
                await asyncio.sleep(step * seconds_per_byte)
            self._writer.write(data[start : start + step])
            try:
                async with asyncio.timeout(self._limits.write_timeout):
                    await self._writer.drain()
            except TimeoutError:
                logger.info("connection %s closed: answers left unread", self._peer)
                return False
        self._active = self._time()
        return True


def log_events(events: list[ConnectionEvent], peer: object) -> None:
    """Log a connection's events: one warning per broken connection, the rest at debug level."""
    for event in events:
        if isinstance(event, CommunicationError):
            # One communication event per broken connection; the meter and its other connections carry on.
            logger.warning("meter %s: connection %s ended: %s", event.meter_number, peer, event.reason)
        elif isinstance(event, FrameIgnored):
            logger.debug("connection %s: %s", peer, event.reason)
        else:
            logger.debug("meter %s: %s", event.meter_number, event.event)
