"""Fixtures of the MQTT channel tests: a dedicated broker with HES Core's configuration, channels, devices."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiomqtt
import msgspec
import pytest

from hes.connectivity.mqtt import IngestorSink, MeterDataSink, MqttChannel, MqttSettings
from hes.connectivity.mqtt.commands import CommandAckHandler
from hes.connectivity.mqtt.sink import CommunicationNote
from hes.ingest.intake import IntakeResult, NamedEvent, NamedReadings
from hes.runtime import Runtime
from tests.connectivity.mqtt.broker import Broker, device_password, make_broker

# Meters with broker credentials; MTR-X has credentials but no meter record in HES Core.
DEVICES = [f"MTR-{index}" for index in range(1, 9)] + ["MTR-X"]


class RecordingSink:
    """The real ingest sink, noting what passed through it (to tell which channel stored what)."""

    def __init__(self, sink: MeterDataSink) -> None:
        self._sink = sink
        self.readings: list[tuple[str, str]] = []  # (meter number, timestamp) in arrival order
        self.notes: list[CommunicationNote] = []

    async def take_in(self, readings: NamedReadings, events: Sequence[NamedEvent]) -> IntakeResult:
        """Record, then store through the real sink."""
        result = await self._sink.take_in(readings, events)
        self.readings += [
            (number, moment.isoformat())
            for number, moment in zip(readings.meter_numbers, readings.timestamps, strict=True)
        ]
        return result

    async def touch(self, meter_numbers: Collection[str]) -> None:
        """Store through the real sink."""
        await self._sink.touch(meter_numbers)

    async def report(self, notes: Sequence[CommunicationNote]) -> None:
        """Record, then store through the real sink."""
        self.notes += notes
        await self._sink.report(notes)


ChannelFactory = Callable[..., Awaitable[MqttChannel]]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A running Mosquitto on a free port, configured from deploy/mosquitto."""
    broker = make_broker(tmp_path / "broker", DEVICES)
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def mqtt_settings(broker: Broker) -> MqttSettings:
    """HES Core's settings for the test broker: a client id of its own, quick reconnects."""
    settings = MqttSettings.from_url(broker.url, client_id=f"hes-test-{secrets.token_hex(3)}")
    return replace(settings, reconnect_min_s=0.05, reconnect_max_s=0.5, timeout_s=5.0)


@pytest.fixture
async def start_channel(mqtt_settings: MqttSettings, runtime: Runtime) -> AsyncIterator[ChannelFactory]:
    """Start a connected channel (on the runtime's ingest path unless given a sink); stopped after the test."""
    channels: list[MqttChannel] = []

    async def start(
        sink: MeterDataSink | None = None, on_command_ack: CommandAckHandler | None = None, **options: Any
    ) -> MqttChannel:
        channel = MqttChannel(
            replace(mqtt_settings, **options),
            sink or IngestorSink(runtime.ingestor, runtime.sessions),
            on_command_ack=on_command_ack,
        )
        channels.append(channel)
        await channel.start()
        await channel.wait_connected(10)
        return channel

    yield start
    for channel in channels:
        await channel.stop()


def device(broker: Broker, meter_number: str, **options: Any) -> aiomqtt.Client:
    """A meter's own MQTT 3.1.1 connection, logged in with its credentials."""
    return aiomqtt.Client(
        "127.0.0.1",
        broker.port,
        username=meter_number,
        password=device_password(meter_number),
        identifier=f"device-{meter_number}-{secrets.token_hex(3)}",
        **options,
    )


async def publish(broker: Broker, meter_number: str, kind: str, *payloads: Any, topic_meter: str | None = None) -> None:
    """Publish payloads (bytes as they are, anything else as JSON) at QoS 1 as `meter_number`, in order."""
    async with device(broker, meter_number) as client:
        for payload in payloads:
            body = payload if isinstance(payload, bytes) else msgspec.json.encode(payload)
            await client.publish(f"hes/meters/{topic_meter or meter_number}/{kind}", body, qos=1)


def reading(step: int, obis: str = "1-0:1.8.0.255", value: Any = None) -> dict[str, Any]:
    """One wire reading, quarter-hourly from 2025-03-03."""
    hours, quarter = divmod(step, 4)
    return {
        "obis": obis,
        "timestamp": f"2025-03-{3 + hours // 24:02d}T{hours % 24:02d}:{15 * quarter:02d}:00Z",
        "value": 1000.5 + step if value is None else value,
        "unit": "kWh",
    }


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 60.0, what: str = "condition") -> None:
    """Wait until `check()` is true; fail after `timeout` seconds (a deadline, not a measured assertion)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
