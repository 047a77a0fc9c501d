"""The MQTT section of bench/ingest.py: messages/s at QoS 1 into HES Core's ingest path, next to plain paho's rate.

Run through bench/ingest.py (`--sections mqtt`; it prepares the database, the fleet and the COPY-stage ceiling the
figures are compared with). Starts a private Mosquitto (`mosquitto` on PATH or /usr/sbin) on a free port with HES
Core's configuration (deploy/mosquitto/mosquitto.conf and acl, only port and paths changed); the first
`--mqtt-meters` meters of the fleet publish, each with its own broker account. Measured in the same run:

  publish    the burst itself: one mosquitto_pub per meter (C; Debian's mosquitto-clients) publishes
             `--mqtt-messages` QoS 1 single-reading messages (~90 bytes) in all, as fast as the broker
             acknowledges them;
  raw paho   the library's own rate, as a baseline: a plain paho-mqtt loop (automatic PUBACK, nothing done
             per message) drains that backlog from a persistent session;
  channel    HES Core's MqttChannel drains the same backlog into a sink that only counts (decode, batch,
             manual PUBACK after the "store": the channel's own cost);
  postgres   the same into the real ingest path (IngestorSink -> Ingestor -> the bench's PostgreSQL);
  live       the channel consuming into PostgreSQL while the publishers publish (they share the 2 cores: the
             CPU seconds of HES Core, the broker, the publishers and PostgreSQL are printed to show where
             they went).

The backlog phases drain what queued in the consumer's persistent session while it was offline, so publishers and
consumer do not compete. Each message carries a reading no other part of the run uses (a quarter-hour the bench
hands out, one second per message), so zero loss is checked by counting the stored rows of that stretch.
Target (issue 5): >= 12,000 messages/s at QoS 1, zero loss.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import paho.mqtt.client as mqtt
from ingest_http import cpu_seconds, ingest_settings, postgres_cpu
from mqtt_broker import Broker, consumer, forget_session, payload, publish
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hes.connectivity.mqtt import IngestorSink, MeterDataSink, MqttChannel, MqttSettings, Uplink
from hes.connectivity.mqtt.sink import CommunicationNote
from hes.db.engine import make_engine, make_session_factory
from hes.db.tables import Reading
from hes.ingest.ingestor import Ingestor
from hes.ingest.intake import IntakeResult, NamedEvent, NamedReadings
from hes.ingest.meter_directory import MeterDirectory
from hes.ingest.obis_catalogue import ObisCatalogue

if TYPE_CHECKING:
    from ingest import Bench

_SECONDS_PER_STEP = 900  # messages of one meter are a second apart: a quarter-hour holds 900 of them


# --- consumers ---------------------------------------------------------------------------------------------


def raw_paho(broker: Broker, expected: int, subscribe_only: bool) -> float:
    """The library's baseline: seconds for a plain paho loop to take `expected` messages."""
    received = 0
    client = consumer("bench-raw")

    def on_message(_client: mqtt.Client, _userdata: object, _message: mqtt.MQTTMessage) -> None:
        nonlocal received
        received += 1

    client.on_message = on_message
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = 3600
    properties.ReceiveMaximum = 10_000
    client.connect("127.0.0.1", broker.port, clean_start=False, properties=properties)
    if subscribe_only:
        client.subscribe(f"hes/meters/+/{Uplink.READINGS.value}", qos=1)
        for _ in range(20):
            client.loop(0.05)
        client.disconnect()
        return 0.0
    began = time.perf_counter()
    while received < expected:
        client.loop(1.0)
    elapsed = time.perf_counter() - began
    client.disconnect()
    return elapsed


class CountingSink:
    """A sink that stores nothing: what the channel itself costs (decode, batch, PUBACK)."""

    def __init__(self, expected: int) -> None:
        self.readings = 0
        self.done = asyncio.Event()
        self.expected = expected

    async def take_in(self, readings: NamedReadings, events: Sequence[NamedEvent]) -> IntakeResult:
        """Count."""
        self.readings += len(readings.meter_numbers)
        if self.readings >= self.expected:
            self.done.set()
        return IntakeResult(len(readings.meter_numbers), 0, 0, 0, ())

    async def touch(self, meter_numbers: Collection[str]) -> None:
        """Nothing."""

    async def report(self, notes: Sequence[CommunicationNote]) -> None:
        """Nothing."""


class StoredSink(IngestorSink):
    """The real ingest sink, telling when `expected` readings were accepted or found already stored."""

    def __init__(self, ingestor: Ingestor, sessions: async_sessionmaker[AsyncSession], expected: int) -> None:
        super().__init__(ingestor, sessions)
        self.expected = expected
        self.seen = 0
        self.done = asyncio.Event()

    async def take_in(self, readings: NamedReadings, events: Sequence[NamedEvent]) -> IntakeResult:
        """Store, then count."""
        result = await super().take_in(readings, events)
        self.seen += result.accepted + result.duplicates
        if self.seen >= self.expected:
            self.done.set()
        return result


async def drain(settings: MqttSettings, sink: MeterDataSink, done: asyncio.Event) -> float:
    """Seconds for a channel to take its session's backlog (until `done`)."""
    channel = MqttChannel(settings, sink)
    began = time.perf_counter()
    await channel.start()
    await done.wait()
    elapsed = time.perf_counter() - began
    await channel.stop()
    return elapsed


async def subscribe_once(settings: MqttSettings) -> None:
    """Create the channel's persistent session and subscription, so a backlog queues for it while it is away."""
    channel = MqttChannel(settings, CountingSink(0))
    await channel.start()
    await channel.wait_connected(10)
    await channel.stop()


# --- the section -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Burst:
    """What one phase publishes: every meter's `per_meter` messages, a second apart from `base`."""

    meters: list[str]
    meter_ids: list[int]
    per_meter: int
    base: datetime
    steps: int  # quarter-hours of the bench's time cursor the burst's readings occupy

    @property
    def total(self) -> int:
        """Messages in all."""
        return self.per_meter * len(self.meters)


def _burst(bench: Bench, args: argparse.Namespace) -> Burst:
    """A burst on quarter-hours no other measurement uses, so its stored rows can be counted."""
    from ingest import START, STEP

    count = min(args.mqtt_meters, len(bench.meter_numbers))
    per_meter = args.mqtt_messages // count
    steps = -(-per_meter // _SECONDS_PER_STEP)
    first = bench.take_steps(steps)
    return Burst(bench.meter_numbers[:count], bench.meter_ids[:count], per_meter, START + first * STEP, steps)


@dataclass(frozen=True)
class Phase:
    """What one phase took: messages, seconds, and this process's CPU seconds (None: not this process's work)."""

    messages: int
    seconds: float
    cpu: float | None = None

    @property
    def rate(self) -> float:
        """Messages per second."""
        return self.messages / self.seconds if self.seconds else 0.0


def _report(bench: Bench, label: str, phase: Phase, raw_paho_rate: float = 0.0, *, ratio: bool = True) -> float:
    """A figure next to the COPY-stage ceiling, then what it is made of; return its rate."""
    bench.report(label, phase.rate, "msgs/s", ratio=ratio)
    notes = [f"{phase.rate / raw_paho_rate:.2f} x raw paho"] if raw_paho_rate else []
    notes += [f"this process {phase.cpu:.1f} CPU s"] if phase.cpu is not None else []
    print(f"    {phase.messages:,} messages in {phase.seconds:.2f} s" + (f" ({'; '.join(notes)})" if notes else ""))
    return phase.rate


async def _broker_figures(bench: Bench, broker: Broker, burst: Burst) -> float:
    """Publish a burst and drain it with plain paho: the library's own rate, a baseline (messages/s)."""
    await asyncio.to_thread(raw_paho, broker, 0, True)
    published = Phase(*await publish(broker, burst.meters, burst.per_meter, burst.base))
    _report(bench, "MQTT publish at QoS 1 (broker acknowledged)", published, ratio=False)
    seconds = await asyncio.to_thread(raw_paho, broker, burst.total, False)
    await asyncio.to_thread(forget_session, broker, "bench-raw")
    return _report(bench, "MQTT raw paho consumer (library baseline)", Phase(burst.total, seconds), ratio=False)


async def _channel_figure(
    bench: Bench, broker: Broker, settings: MqttSettings, burst: Burst, raw_paho_rate: float
) -> None:
    """The channel draining a backlog into a sink that only counts."""
    await publish(broker, burst.meters, burst.per_meter, burst.base)
    counting = CountingSink(burst.total)
    used = time.process_time()
    seconds = await drain(settings, counting, counting.done)
    phase = Phase(counting.readings, seconds, time.process_time() - used)
    _report(bench, "MQTT channel -> counting sink", phase, raw_paho_rate, ratio=False)


async def _stored_figures(
    bench: Bench, args: argparse.Namespace, broker: Broker, settings: MqttSettings, burst: Burst, raw_paho_rate: float
) -> None:
    """The channel into the real ingest path: a backlog drained, then live; zero loss checked on the stored rows."""
    from ingest import copy_ceiling

    live = _burst(bench, args)
    engine = make_engine(bench.url)
    sessions = make_session_factory(engine)
    ingestor = Ingestor(sessions, ingest_settings(args), MeterDirectory(sessions), ObisCatalogue(sessions))
    try:
        await copy_ceiling(bench)
        await publish(broker, burst.meters, burst.per_meter, burst.base)
        sink = StoredSink(ingestor, sessions, burst.total)
        used = time.process_time()
        seconds = await drain(settings, sink, sink.done)
        phase = Phase(burst.total, seconds, time.process_time() - used)
        _report(bench, "MQTT channel -> PostgreSQL (backlog)", phase, raw_paho_rate)
        await copy_ceiling(bench)
        sink = StoredSink(ingestor, sessions, live.total)
        channel = MqttChannel(settings, sink)
        await channel.start()
        await channel.wait_connected(10)
        cpu = _LiveCpu.now(broker, bench)
        began = time.perf_counter()
        acked, _ = await publish(broker, live.meters, live.per_meter, live.base)
        await sink.done.wait()
        used = _LiveCpu.now(broker, bench) - cpu
        phase = Phase(acked, time.perf_counter() - began, used.hes)
        _report(bench, "MQTT live: publish + channel -> PostgreSQL", phase, raw_paho_rate)
        print(f"    CPU seconds: HES Core {used.hes:.1f} ({used.hes / acked * 1e6:.0f} us/message), broker "
              f"{used.broker:.1f}, publishers {used.publishers:.1f}, postgres {used.postgres:.1f}")  # fmt: skip
        await channel.stop()
        for name, published in (("backlog", burst), ("live", live)):
            await _check_stored(sessions, name, published)
    finally:
        await ingestor.close()
        await engine.dispose()


@dataclass(frozen=True)
class _LiveCpu:
    """CPU seconds so far of everything the live phase runs on the two cores."""

    hes: float  # this process: the channel and the ingest path
    broker: float
    publishers: float  # child processes that have ended (the publishers, reaped at the end of their burst)
    postgres: float

    @classmethod
    def now(cls, broker: Broker, bench: Bench) -> _LiveCpu:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return cls(
            time.process_time(),
            cpu_seconds(broker.process.pid),
            children.ru_utime + children.ru_stime,
            postgres_cpu(bench.dsn.rsplit("/", 1)[1]),
        )

    def __sub__(self, other: _LiveCpu) -> _LiveCpu:
        return _LiveCpu(
            self.hes - other.hes,
            self.broker - other.broker,
            self.publishers - other.publishers,
            self.postgres - other.postgres,
        )


async def _check_stored(sessions: async_sessionmaker[AsyncSession], name: str, burst: Burst) -> None:
    """Count the burst's stored readings: zero loss means one per message published."""
    from ingest import STEP

    async with sessions() as session:
        rows = await session.scalar(
            select(func.count())
            .select_from(Reading)
            .where(
                Reading.meter_id.in_(burst.meter_ids),
                Reading.ts >= burst.base,
                Reading.ts < burst.base + burst.steps * STEP,
            )
        )
    verdict = "zero loss" if rows == burst.total else f"{burst.total - (rows or 0):,} LOST"
    print(f"  stored readings, {name}: {rows:,} of {burst.total:,} published -> {verdict}")


async def section(bench: Bench, args: argparse.Namespace) -> None:
    """Private broker; publish, raw paho, channel (counting, then into PostgreSQL, then live); zero-loss check."""
    from ingest import copy_ceiling

    burst = _burst(bench, args)
    with tempfile.TemporaryDirectory(prefix="hes-bench-mqtt-") as directory:
        broker = Broker(Path(directory), burst.meters)
        try:
            print(f"  {burst.total:,} single-reading messages (~{len(payload(burst.base, 0))} bytes) at QoS 1 "
                  f"from {len(burst.meters)} meters, mosquitto on port {broker.port} with "
                  "deploy/mosquitto/mosquitto.conf")  # fmt: skip
            await copy_ceiling(bench)
            raw_paho_rate = await _broker_figures(bench, broker, burst)
            settings = replace(MqttSettings.from_url(broker.url, client_id="bench-channel"), timeout_s=30.0)
            await subscribe_once(settings)
            await _channel_figure(bench, broker, settings, burst, raw_paho_rate)
            await _stored_figures(bench, args, broker, settings, burst, raw_paho_rate)
            print(f"  broker logged dropped messages: {'YES' if broker.dropped() else 'no'}")
        finally:
            broker.stop()
