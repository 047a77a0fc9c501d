"""MQTT ingest at QoS 1: messages/s HES Core's channel takes into the ingest path, next to the broker's own ceiling.

Run:  .venv/bin/python bench/ingest_mqtt.py [--messages 100000] [--meters 8] [--live] [--no-postgres]

Starts a dedicated Mosquitto (`mosquitto` on PATH or /usr/sbin) on a free port with HES Core's configuration
(deploy/mosquitto/mosquitto.conf and acl, only port and paths changed) and measures, in the same run:

  publish    the burst itself: `--meters` paho connections (one per meter, in 4 child processes, so they do
             not share this process's interpreter) publish `--messages` QoS 1 single-reading messages (~90 bytes)
             as fast as the broker acknowledges them;
  raw paho   the broker's ceiling for one Python consumer: a plain paho-mqtt loop (automatic PUBACK, nothing
             done per message) drains that backlog from a persistent session;
  channel    HES Core's MqttChannel drains the same backlog into a sink that only counts (decode, batch,
             manual PUBACK after the "store": the channel's own cost);
  postgres   the same into the real ingest path (IngestorSink -> Ingestor -> PostgreSQL, a scratch database on
             postgresql://postgres@127.0.0.1:5432, HES_BENCH_POSTGRES_DSN overrides), then counts the stored rows:
             zero loss means every message published is a stored reading.

Each consumer drains a backlog queued in its persistent session while it was offline, so publishers and
consumer do not compete for the 2 cores; `--live` adds a run where the channel consumes (into PostgreSQL)
while the publishers publish. Figures, not assertions. Target (issue 5): >= 12,000 messages/s at QoS 1, zero loss.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import func, select

from hes.connectivity.mqtt import IngestorSink, MeterDataSink, MqttChannel, MqttSettings
from hes.connectivity.mqtt.sink import CommunicationNote
from hes.db.engine import make_engine, make_session_factory
from hes.db.enums import MeterStatus
from hes.db.migrate import upgrade
from hes.db.tables import Meter, Reading
from hes.ingest.ingestor import Ingestor, IngestSettings
from hes.ingest.intake import IntakeResult, NamedEvent, NamedReadings
from hes.ingest.meter_directory import MeterDirectory
from hes.ingest.obis_catalogue import ObisCatalogue

ROOT = Path(__file__).resolve().parent.parent
ADMIN_DSN = os.environ.get("HES_BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
DEPLOY = ROOT / "deploy" / "mosquitto"
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
HES_USER, HES_PASSWORD = "hes-core", secrets.token_hex(8)
START = datetime(2025, 3, 3, tzinfo=UTC)
PUBLISHERS = 4  # child processes publishing; paho in threads of one process is held back by the GIL


def device_password(meter_number: str) -> str:
    """Each bench meter's broker password."""
    return f"bench-{meter_number}"


def payload(step: int) -> bytes:
    """Message `step` of a meter: one energy reading, quarter-hourly from START."""
    moment = (START + timedelta(minutes=15 * step)).isoformat()
    return b'{"obis":"1-0:1.8.0.255","timestamp":"%s","value":%d.5,"unit":"kWh"}' % (moment.encode(), step)


# --- the broker ------------------------------------------------------------------------------------------


class Broker:
    """A Mosquitto with HES Core's configuration on a free port, in a scratch directory."""

    def __init__(self, directory: Path, meters: Sequence[str]) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.directory = directory
        passwords = directory / "passwd"
        passwords.touch(mode=0o600)
        for user, password in [(HES_USER, HES_PASSWORD), *((meter, device_password(meter)) for meter in meters)]:
            subprocess.run(["mosquitto_passwd", "-b", str(passwords), user, password], check=True)
        shutil.copy(DEPLOY / "acl", directory / "acl")
        config = (DEPLOY / "mosquitto.conf").read_text()
        for pattern, line in {
            r"^listener 1883$": f"listener {self.port} 127.0.0.1",
            r"^password_file .*$": f"password_file {passwords}",
            r"^acl_file .*$": f"acl_file {directory / 'acl'}",
            r"^persistence_location .*$": f"persistence_location {directory}/",
        }.items():
            config = re.sub(pattern, line, config, flags=re.MULTILINE)
        (directory / "mosquitto.conf").write_text(config + "\nuser root\n")
        log = (directory / "mosquitto.log").open("ab")
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(directory / "mosquitto.conf")], stdout=log, stderr=log)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("mosquitto did not start")

    @property
    def url(self) -> str:
        """MQTT_URL for HES Core."""
        return f"mqtt://{HES_USER}:{HES_PASSWORD}@127.0.0.1:{self.port}"

    def dropped(self) -> bool:
        """True if the broker logged dropping messages."""
        return "dropped" in (self.directory / "mosquitto.log").read_text(errors="replace").lower()

    def stop(self) -> None:
        """Terminate the broker."""
        self.process.terminate()
        self.process.wait(10)


# --- publishers (child process) ----------------------------------------------------------------------------


def publish_meter(port: int, meter: str, count: int, first: int, acked: list[int]) -> None:
    """Publish `count` readings of one meter at QoS 1 and wait for every PUBACK."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{meter}", protocol=mqtt.MQTTv311)
    client.username_pw_set(meter, device_password(meter))
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    infos = [
        client.publish(f"hes/meters/{meter}/readings", payload(step), qos=1) for step in range(first, first + count)
    ]
    for info in infos:
        info.wait_for_publish(timeout=300)
    acked.append(sum(info.is_published() for info in infos))
    client.disconnect()
    client.loop_stop()


def publishers_main(port: int, count: int, first: int, meters: list[str]) -> None:
    """Child process: publish from every meter at once, print the messages acknowledged."""
    acked: list[int] = []
    threads = [threading.Thread(target=publish_meter, args=(port, m, count, first, acked)) for m in meters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(sum(acked))


async def publish(broker: Broker, meters: list[str], per_meter: int, first: int) -> tuple[int, float]:
    """Publish from child processes (PUBLISHERS, meters dealt out); messages the broker acknowledged, seconds taken."""
    began = time.perf_counter()
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--publish",
            str(broker.port),
            str(per_meter),
            str(first),
            *meters[i::PUBLISHERS],
            stdout=asyncio.subprocess.PIPE,
        )
        for i in range(min(PUBLISHERS, len(meters)))
    ]
    outputs = await asyncio.gather(*(process.communicate() for process in processes))
    return sum(int(output.decode().strip() or 0) for output, _ in outputs), time.perf_counter() - began


# --- consumers ---------------------------------------------------------------------------------------------


def raw_paho(broker: Broker, expected: int, subscribe_only: bool) -> float:
    """The broker's ceiling for one Python consumer: seconds for a plain paho loop to take `expected` messages."""
    received = 0
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id="bench-raw", protocol=mqtt.MQTTv5, reconnect_on_failure=False
    )
    client.username_pw_set(HES_USER, HES_PASSWORD)

    def on_message(_client: mqtt.Client, _userdata: object, _message: mqtt.MQTTMessage) -> None:
        nonlocal received
        received += 1

    client.on_message = on_message
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = 3600
    properties.ReceiveMaximum = 10_000
    client.connect("127.0.0.1", broker.port, clean_start=False, properties=properties)
    if subscribe_only:
        client.subscribe("hes/meters/+/readings", qos=1)
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

    def __init__(self) -> None:
        self.readings = 0
        self.done = asyncio.Event()
        self.expected = 0

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
    channel = MqttChannel(settings, CountingSink())
    await channel.start()
    await channel.wait_connected(10)
    await channel.stop()


# --- PostgreSQL --------------------------------------------------------------------------------------------


async def scratch_database(meters: list[str]) -> tuple[str, str]:
    """A migrated scratch database with the bench meters; its name and SQLAlchemy URL."""
    name = f"hes_bench_mqtt_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{name}"
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    async with make_session_factory(engine)() as session:
        session.add_all(Meter(meter_number=number, status=MeterStatus.INSTALLED) for number in meters)
        await session.commit()
    await engine.dispose()
    return name, url


async def drop_database(name: str) -> None:
    """Drop the scratch database."""
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


class StoredSink(IngestorSink):
    """The real ingest sink, telling when `expected` readings were accepted or found already stored."""

    def __init__(self, ingestor: Ingestor, sessions: object, expected: int) -> None:
        super().__init__(ingestor, sessions)  # type: ignore[arg-type]
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


# --- the run -----------------------------------------------------------------------------------------------


def cpu() -> float:
    """CPU seconds of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def line(label: str, messages: int, seconds: float, ceiling: float | None = None, extra: str = "") -> float:
    """Print one figure; return its rate."""
    rate = messages / seconds if seconds else 0.0
    ratio = f"  ({rate / ceiling:.2f} x raw paho)" if ceiling else ""
    print(f"  {label:<34} {messages:>8,} msgs in {seconds:6.2f} s = {rate:>9,.0f} msgs/s{ratio}{extra}", flush=True)
    return rate


async def run(arguments: argparse.Namespace) -> None:
    """Every phase, in order; figures printed as they come."""
    meters = [f"BENCH-{index:03d}" for index in range(arguments.meters)]
    per_meter = arguments.messages // arguments.meters
    total = per_meter * arguments.meters
    with tempfile.TemporaryDirectory(prefix="hes-bench-mqtt-") as directory:
        broker = Broker(Path(directory), meters)
        try:
            print(f"MQTT ingest at QoS 1, {total:,} single-reading messages (~{len(payload(0))} bytes) "
                  f"from {len(meters)} meters, mosquitto with deploy/mosquitto/mosquitto.conf")  # fmt: skip
            await asyncio.to_thread(raw_paho, broker, 0, True)
            acked, seconds = await publish(broker, meters, per_meter, 0)
            line("publish (broker acknowledged)", acked, seconds)
            seconds = await asyncio.to_thread(raw_paho, broker, total, False)
            ceiling = line("raw paho consumer (broker ceiling)", total, seconds)

            settings = replace(MqttSettings.from_url(broker.url, client_id="bench-channel"), timeout_s=30.0)
            await subscribe_once(settings)
            await publish(broker, meters, per_meter, 0)
            counting = CountingSink()
            counting.expected = total
            used = cpu()
            seconds = await drain(settings, counting, counting.done)
            line("channel -> counting sink", counting.readings, seconds, ceiling, f"  cpu {cpu() - used:.1f} s")

            if not arguments.no_postgres:
                await postgres(arguments, broker, meters, per_meter, total, ceiling)
            print(f"  broker logged dropped messages: {'YES' if broker.dropped() else 'no'}")
        finally:
            broker.stop()


async def postgres(
    arguments: argparse.Namespace, broker: Broker, meters: list[str], per_meter: int, total: int, ceiling: float
) -> None:
    """The channel into the real ingest path on PostgreSQL (backlog drain, then optionally live)."""
    name, url = await scratch_database(meters)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    ingestor = Ingestor(sessions, IngestSettings(), MeterDirectory(sessions), ObisCatalogue(sessions))
    try:
        settings = replace(MqttSettings.from_url(broker.url, client_id="bench-postgres"), timeout_s=30.0)
        await subscribe_once(settings)
        await publish(broker, meters, per_meter, 0)
        sink = StoredSink(ingestor, sessions, total)
        used = cpu()
        seconds = await drain(settings, sink, sink.done)
        line("channel -> ingest -> PostgreSQL", total, seconds, ceiling, f"  cpu {cpu() - used:.1f} s (this process)")
        if arguments.live:
            sink = StoredSink(ingestor, sessions, total)
            channel = MqttChannel(settings, sink)
            await channel.start()
            await channel.wait_connected(10)
            began = time.perf_counter()
            acked, _ = await publish(broker, meters, per_meter, per_meter)
            await sink.done.wait()
            line("live: publish + channel -> PostgreSQL", acked, time.perf_counter() - began, ceiling)
            await channel.stop()
        async with sessions() as session:
            rows = await session.scalar(select(func.count()).select_from(Reading))
        expected = total * (2 if arguments.live else 1)
        print(f"  stored readings: {rows:,} of {expected:,} published -> {'zero loss' if rows == expected else 'LOSS'}")
    finally:
        await ingestor.close()
        await engine.dispose()
        await drop_database(name)


def main() -> None:
    """Parse the arguments and run (or, as a child, publish)."""
    if len(sys.argv) > 1 and sys.argv[1] == "--publish":
        port, count, first, *meters = sys.argv[2:]
        publishers_main(int(port), int(count), int(first), meters)
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--meters", type=int, default=8)
    parser.add_argument("--live", action="store_true", help="also consume while publishing")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL phases")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
