"""Dial-in mode: each meter opens a TCP connection to the HES, announces itself, then serves DLMS on that socket.

`hes simulate --mode dial-in --hes-host 127.0.0.1 --hes-port 4059` (the HES's METER_HOST / METER_PORT). Many
cellular meters (Hexing, Kaifa, DSMR meters...) work this way: the meter dials out, and the HES is the DLMS client
on the connection the meter opened.

The announcement (the choice documented here, for the HES side): as soon as it is connected the meter sends a
DataNotification (IEC 62056-5-3) to the push client 102 (hes.simulator.push_messages) — a wrapper meter in one
IEC 62056-47 wrapper frame, wPort 1 -> wPort 102; an HDLC meter in HDLC UI frames from its own HDLC address to
client address 102 (no SNRM comes first: the HES connects the link afterwards) — the push of its push setup
0-0:25.9.0.255 acting as IDIS "push on connectivity" (the EnergyICT T210-D push parser reads that
instance so): a structure whose first element is the push setup's logical name (09 06 00 00 19 09 00 FF) and whose
second is the COSEM logical device name, octet-string FLAG id + meter number (e.g. "HXE47007000001"); clock and
active energy import follow (hes.simulator.push_messages). HLS meters send it general-glo-ciphered: the HES finds
the meter from the system title in the clear, then deciphers. From then on the meter answers the HES's wrapper
frames (AARQ, GET, ...) or HDLC frames (SNRM, I-frames, DISC: the meter is the only station of that line) on that
socket, exactly as a listening meter does (with its faults, if any).

Keep-alive: SO_KEEPALIVE on the socket, and after `keepalive_s` without an octet either way the meter sends the
connectivity push again (a heartbeat the HES can ignore). The meter hangs up after `inactivity_timeout` seconds
without a received octet (hes.simulator.driver.ServerLimits).

Reconnection: after a refused connection or a dropped one, the meter dials again after a backoff doubling from
`backoff_initial_s` to `backoff_max_s`, times a random factor in [0.5, 1) from its seed so a fleet does not
reconnect in lockstep; a connection that lasted `backoff_max_s` resets the backoff. At most `max_connecting`
connection attempts of the fleet are under way at once (OSGP accepts 30 new connections a second by default).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from hes.simulator.driver import ConnectionDriver, Keepalive, ServerLimits
from hes.simulator.fleet import FleetSpec, Transport
from hes.simulator.injection import MeterFaults
from hes.simulator.meter import SimulatedMeter
from hes.simulator.push import check_loopback
from hes.simulator.push_messages import PushMessages

__all__ = ["DialInCounters", "DialInFleet", "DialInSettings"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DialInSettings:
    """Where the meters dial to and how they hold and re-establish the connection."""

    hes_host: str
    hes_port: int = 4059  # the HES's METER_PORT default (the DLMS/COSEM IANA port)
    keepalive_s: float = 60.0  # 0: no heartbeat push
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 300.0
    connect_timeout_s: float = 10.0
    max_connecting: int = 50

    def __post_init__(self) -> None:
        problems = check_loopback(self.hes_host, "HES host")
        if not 1 <= self.hes_port <= 65535:
            problems.append(f"HES port {self.hes_port} is not 1-65535")
        if self.keepalive_s < 0:
            problems.append("keep-alive is 0 (off) or positive seconds")
        if not 0 < self.backoff_initial_s <= self.backoff_max_s:
            problems.append("the backoff starts above 0 s and at most at its maximum")
        if self.connect_timeout_s <= 0:
            problems.append("the connect timeout is positive seconds")
        if self.max_connecting < 1:
            problems.append("at least 1 connection attempt at a time")
        if problems:
            raise ValueError("; ".join(problems))


@dataclass(slots=True)
class DialInCounters:
    """What one meter's dialling did since the start."""

    attempts: int = 0
    connections: int = 0  # connections established (each began with an announcement)
    failures: int = 0  # attempts refused or timed out


class DialInFleet:
    """The dialling tasks of a fleet, one per meter; start() and close()."""

    def __init__(
        self,
        spec: FleetSpec,
        meters: Sequence[SimulatedMeter],
        settings: DialInSettings,
        *,
        limits: ServerLimits | None = None,
        faults: dict[str, MeterFaults] | None = None,
    ) -> None:
        """Dialers for `meters` (built from `spec`, same order), wrapper or HDLC as their specs say."""
        self.settings = settings
        self.limits = limits or ServerLimits()
        self.meters = {meter.meter_number: meter for meter in meters}
        self.counters = {meter.meter_number: DialInCounters() for meter in meters}
        self._faults = faults or {}
        pairs = list(zip(spec.meters, meters, strict=True))
        self._messages = {meter.meter_number: PushMessages(meter, meter_spec) for meter_spec, meter in pairs}
        self._hdlc = {meter.meter_number for meter_spec, meter in pairs if meter_spec.transport is Transport.HDLC}
        self._random = {meter.meter_number: random.Random(meter_spec.seed) for meter_spec, meter in pairs}
        self._latency = spec.latency_ms / 1000
        self._connecting = asyncio.Semaphore(settings.max_connecting)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Start dialling: one task per meter."""
        self._tasks = [asyncio.create_task(self._dial(meter)) for meter in self.meters.values()]
        logger.info("%d meters dial %s:%d", len(self.meters), self.settings.hes_host, self.settings.hes_port)

    async def close(self) -> None:
        """Hang up every meter and stop dialling (bounded by the shutdown timeout)."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=self.limits.shutdown_timeout)
        self._tasks.clear()

    def _faults_of(self, meter: SimulatedMeter) -> MeterFaults:
        faults = self._faults.get(meter.meter_number)
        return faults if faults is not None else MeterFaults(())

    async def _dial(self, meter: SimulatedMeter) -> None:
        loop = asyncio.get_running_loop()
        counters, failures = self.counters[meter.meter_number], 0
        while True:
            counters.attempts += 1
            streams = await self._connect(meter)
            if streams is None:
                counters.failures += 1
                failures += 1
            else:
                counters.connections += 1
                opened = loop.time()
                await self._serve(meter, *streams)
                # A connection that held a while was a success: start the backoff afresh.
                failures = 1 if loop.time() - opened >= self.settings.backoff_max_s else failures + 1
            await asyncio.sleep(self._backoff(meter, failures))

    def _backoff(self, meter: SimulatedMeter, failures: int) -> float:
        settings = self.settings
        ceiling = min(settings.backoff_max_s, settings.backoff_initial_s * float(2 ** min(failures - 1, 30)))
        return ceiling * self._random[meter.meter_number].uniform(0.5, 1.0)

    async def _connect(self, meter: SimulatedMeter) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        settings = self.settings
        try:
            async with self._connecting, asyncio.timeout(settings.connect_timeout_s):
                return await asyncio.open_connection(settings.hes_host, settings.hes_port)
        except (OSError, TimeoutError) as error:
            logger.info("meter %s: cannot reach the HES: %s", meter.meter_number, error)
            return None

    async def _serve(self, meter: SimulatedMeter, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Announce, then answer the HES on this socket until either side hangs up."""
        messages = self._messages[meter.meter_number]
        peer = writer.get_extra_info("peername")
        raw = writer.get_extra_info("socket")
        if raw is not None:
            with contextlib.suppress(OSError):
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        keepalive = Keepalive(self.settings.keepalive_s, messages.push) if self.settings.keepalive_s else None
        driver = ConnectionDriver(
            reader,
            writer,
            meter.hdlc_connection() if meter.meter_number in self._hdlc else meter.wrapper_connection(),
            limits=self.limits,
            peer=peer,
            latency=self._latency,
            faults=self._faults_of,
            keepalive=keepalive,
        )
        try:
            writer.write(messages.push())
            await writer.drain()
            await driver.run(meter)
        except (ConnectionError, OSError) as error:
            logger.info("meter %s: connection to the HES lost: %s", meter.meter_number, error)
        except Exception:
            # A defect of the simulator, not of the HES: log it with its traceback; the meter dials again.
            logger.exception("meter %s: dial-in connection failed", meter.meter_number)
        finally:
            writer.close()  # not awaited: a cancelled task (shutdown) must not linger on a peer that never acks
