"""Push mode: each meter also sends DataNotifications to the HES's push listener, on schedule and on alarm.

`hes simulate --mode push --push-host H --push-port P --push-interval-s N`: the meters listen as in listen mode
(hes.simulator.server) and each one pushes (hes.simulator.push_messages):
- every `interval_s`, the push of its push setup 0-0:25.9.0.255, the first one at a phase drawn from its seed, so
  a fleet spreads its pushes over the interval as IDIS's randomisation_start_interval does;
- at once when an alarm comes up: the relay switching (a HES's remote_disconnect / reconnect) or the status word
  gaining a tamper flag, both found by polling each meter's objects every `alarm_poll_s`; or `raise_alarm()`.
Each push opens a TCP connection to the listener, sends one wrapper frame and closes (IDIS push over TCP: the
meter connects, pushes, hangs up). At most `max_connecting` connection attempts are under way at once; a push
that cannot be delivered within `connect_timeout_s` is counted as failed and not repeated.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from hes.simulator.fleet import FleetSpec
from hes.simulator.meter import SimulatedMeter
from hes.simulator.push_messages import AlarmBit, AlarmWatch, PushMessages

__all__ = ["PushCounters", "PushRunner", "PushSettings", "check_loopback"]

logger = logging.getLogger(__name__)

_SHUTDOWN_TIMEOUT = 5.0  # seconds close() waits for the push tasks to end


def check_loopback(host: str, what: str) -> list[str]:
    """Problems with `host` as a peer of simulated meters: an IP address, and a loopback one (test keys)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return [f"{what} {host!r} is not an IP address"]
    return [] if address.is_loopback else [f"{what} {host} is not a loopback address: simulated meters use test keys"]


@dataclass(frozen=True, slots=True)
class PushSettings:
    """Where and how often the fleet pushes."""

    host: str
    port: int
    interval_s: float = 900.0  # a 15-minute push, the load profile's period
    alarm_poll_s: float = 10.0  # how often each meter's relay and status word are looked at
    connect_timeout_s: float = 10.0  # to connect and hand over one push
    max_connecting: int = 50  # push connections under way at once

    def __post_init__(self) -> None:
        problems = check_loopback(self.host, "push host")
        if not 1 <= self.port <= 65535:
            problems.append(f"push port {self.port} is not 1-65535")
        if min(self.interval_s, self.alarm_poll_s, self.connect_timeout_s) <= 0:
            problems.append("push interval, alarm poll and connect timeout are positive seconds")
        if self.max_connecting < 1:
            problems.append("at least 1 push connection at a time")
        if problems:
            raise ValueError("; ".join(problems))


@dataclass(slots=True)
class PushCounters:
    """Pushes of one meter since the start."""

    sent: int = 0
    alarms: int = 0
    failed: int = 0


@dataclass(slots=True)
class _Pusher:
    """One meter's pushes: its messages, alarm watch, pending alarm bits and the event that wakes its task."""

    meter: SimulatedMeter
    messages: PushMessages
    watch: AlarmWatch
    phase: float
    counters: PushCounters = field(default_factory=PushCounters)
    pending: AlarmBit = field(default_factory=lambda: AlarmBit(0))
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class PushRunner:
    """The push tasks of a fleet: one per meter, plus the alarm poller; start() and close()."""

    def __init__(self, spec: FleetSpec, meters: Sequence[SimulatedMeter], settings: PushSettings) -> None:
        """Pushers for `meters` (built from `spec`, same order)."""
        self.settings = settings
        self._pushers: dict[str, _Pusher] = {}
        for meter_spec, meter in zip(spec.meters, meters, strict=True):
            messages = PushMessages(meter, meter_spec)
            phase = _phase(meter_spec.seed) * settings.interval_s
            self._pushers[meter.meter_number] = _Pusher(meter, messages, AlarmWatch(messages.objects), phase)
        self._connecting = asyncio.Semaphore(settings.max_connecting)
        self._tasks: list[asyncio.Task[None]] = []

    def counters(self, meter_number: str) -> PushCounters:
        """What one meter has pushed."""
        return self._pushers[meter_number].counters

    def raise_alarm(self, meter_number: str, bits: AlarmBit) -> None:
        """Make a meter push an alarm now (a scenario: tamper, battery...), on top of the ones it finds itself."""
        pusher = self._pushers[meter_number]
        if bits:
            pusher.pending |= bits
            pusher.wake.set()

    async def start(self) -> None:
        """Start one task per meter and the alarm poller."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        self._tasks = [asyncio.create_task(self._run(pusher, started)) for pusher in self._pushers.values()]
        self._tasks.append(asyncio.create_task(self._poll_alarms()))
        logger.info("%d meters push to %s:%d", len(self._pushers), self.settings.host, self.settings.port)

    async def close(self) -> None:
        """Stop every push task (a push under way is abandoned)."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=_SHUTDOWN_TIMEOUT)
        self._tasks.clear()

    async def _run(self, pusher: _Pusher, started: float) -> None:
        try:
            await self._schedule(pusher, started)
        except Exception:
            # A defect of the simulator (an object model that fails): log it once; this meter stops pushing.
            logger.exception("meter %s: pushing stopped", pusher.meter.meter_number)

    async def _schedule(self, pusher: _Pusher, started: float) -> None:
        loop = asyncio.get_running_loop()
        due = started + pusher.phase
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(due):
                    await pusher.wake.wait()
            pusher.wake.clear()
            if pusher.pending:
                bits, pusher.pending = pusher.pending, AlarmBit(0)
                if await self._send(pusher.meter, pusher.messages.alarm(bits)):
                    pusher.counters.alarms += 1
                else:
                    pusher.counters.failed += 1
            now = loop.time()
            if now >= due:
                if await self._send(pusher.meter, pusher.messages.push()):
                    pusher.counters.sent += 1
                else:
                    pusher.counters.failed += 1
                # The next slot of the schedule; slots missed while a push was slow are skipped, not bunched.
                due += self.settings.interval_s * (1 + int((loop.time() - due) // self.settings.interval_s))

    async def _poll_alarms(self) -> None:
        while True:
            await asyncio.sleep(self.settings.alarm_poll_s)
            for number, pusher in self._pushers.items():
                try:
                    bits = pusher.watch.check()
                except Exception:
                    logger.exception("meter %s: alarm check failed", number)  # a simulator defect; the others go on
                    continue
                self.raise_alarm(number, bits)

    async def _send(self, meter: SimulatedMeter, frame: bytes) -> bool:
        """Connect, send one push, hang up; False when the listener cannot be reached in time."""
        settings = self.settings
        try:
            async with self._connecting, asyncio.timeout(settings.connect_timeout_s):
                _, writer = await asyncio.open_connection(settings.host, settings.port)
                try:
                    writer.write(frame)
                    await writer.drain()
                    writer.write_eof()
                finally:
                    writer.close()
                    with contextlib.suppress(ConnectionError):
                        await writer.wait_closed()
        except (OSError, TimeoutError) as error:
            logger.info("meter %s: push to %s:%d failed: %s", meter.meter_number, settings.host, settings.port, error)
            return False
        return True


def _phase(seed: int) -> float:
    """A fraction of the interval in [0, 1) drawn from the meter's seed."""
    return int.from_bytes(hashlib.blake2b(f"push-phase:{seed}".encode(), digest_size=4).digest(), "big") / 2**32
