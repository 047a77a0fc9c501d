"""The MQTT channel against a real Mosquitto (HES Core's configuration) and the real ingest path and database."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import asyncpg
import msgspec
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.engine import make_url

from hes.config import Settings
from hes.connectivity.mqtt import CommandAck, IngestorSink, MqttUnavailable
from hes.connectivity.mqtt.sink import PAYLOAD_REJECTED
from hes.db.enums import EventCategory, MeterStatus
from hes.db.tables import Event, Meter
from hes.runtime import Runtime
from tests.conftest import POSTGRES_ADMIN_DSN
from tests.connectivity.mqtt.broker import Broker
from tests.connectivity.mqtt.conftest import ChannelFactory, RecordingSink, device, eventually, publish, reading
from tests.ingest.fleet import add_meters, count_readings

ROOT = Path(__file__).resolve().parents[3]


def metric(name: str, **labels: str) -> float:
    """The current value of a Prometheus sample (0 when never incremented)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def stored(runtime: Runtime, expected: int, meter_id: int | None = None):  # type: ignore[no-untyped-def]
    """A check for `eventually`: the database holds `expected` readings (of one meter)."""

    async def check() -> bool:
        return await count_readings(runtime, meter_id) == expected

    return check


async def test_readings_single_and_batched_are_stored_then_acknowledged(
    broker: Broker, runtime: Runtime, start_channel: ChannelFactory
) -> None:
    ids = await add_meters(runtime, ["MTR-1"])
    channel = await start_channel()
    await publish(broker, "MTR-1", "readings", reading(0), {"readings": [reading(1), reading(2), reading(3)]})
    await eventually(stored(runtime, 4, ids["MTR-1"]), what="4 readings stored")

    # Acknowledged: a new session under the same client id gets nothing back but the next message.
    await channel.stop()
    recorder = RecordingSink(IngestorSink(runtime.ingestor, runtime.sessions))
    await start_channel(recorder)
    await publish(broker, "MTR-1", "readings", reading(4))
    await eventually(stored(runtime, 5), what="the fifth reading")
    assert recorder.readings == [("MTR-1", "2025-03-03T01:00:00+00:00")]


async def test_a_repeated_message_is_stored_once(
    broker: Broker, runtime: Runtime, start_channel: ChannelFactory
) -> None:
    await add_meters(runtime, ["MTR-1"])
    await start_channel()
    await publish(broker, "MTR-1", "readings", reading(0), reading(0), {"readings": [reading(0), reading(1)]})
    await eventually(stored(runtime, 2), what="two distinct readings")
    await publish(broker, "MTR-1", "readings", reading(2))
    await eventually(stored(runtime, 3), what="the next reading")


async def test_bad_payloads_are_refused_counted_and_logged_without_stopping_the_consumer(
    broker: Broker, runtime: Runtime, start_channel: ChannelFactory
) -> None:
    ids = await add_meters(runtime, ["MTR-1"])
    before = {
        reason: metric("hes_mqtt_rejected_total", kind="readings", reason=reason)
        for reason in ("malformed_json", "wrong_type", "unknown_meter", "unknown_obis", "invalid_obis", "missing_field")
    }
    recorder = RecordingSink(IngestorSink(runtime.ingestor, runtime.sessions))
    channel = await start_channel(recorder)
    await publish(
        broker,
        "MTR-1",
        "readings",
        b"not json at all",
        b"\xff\xfe\x00",
        {"readings": [reading(0, value="high"), reading(1)]},  # one bad item; the good one is stored
        reading(2, obis="9-9:99.99.99.255"),  # well formed, in no profile
        reading(3, obis="1-0:1.8.0"),  # not an OBIS code
        {"obis": "1-0:1.8.0.255", "value": 1.0},  # no timestamp
    )
    await publish(broker, "MTR-X", "readings", reading(4))  # the broker knows it, HES Core does not
    await publish(broker, "MTR-1", "readings", reading(5))
    await eventually(stored(runtime, 2, ids["MTR-1"]), what="the good readings")
    await eventually(lambda: _has_note(recorder), what="the refusal note")

    assert channel.connected
    assert await count_readings(runtime) == 2
    after = {reason: metric("hes_mqtt_rejected_total", kind="readings", reason=reason) for reason in before}
    assert {reason: after[reason] - before[reason] for reason in before} == {
        "malformed_json": 2,
        "wrong_type": 1,
        "unknown_meter": 1,
        "unknown_obis": 1,
        "invalid_obis": 1,
        "missing_field": 1,
    }
    async with runtime.sessions() as session:
        events = (await session.scalars(select(Event).where(Event.event_type == PAYLOAD_REJECTED))).all()
    # One communication event for the known meter (at most one per meter per minute); none for MTR-X.
    assert [(event.meter_id, event.category) for event in events] == [(ids["MTR-1"], EventCategory.COMMUNICATION)]
    assert events[0].details is not None and events[0].details["kind"] == "readings"


async def _has_note(recorder: RecordingSink) -> bool:
    return any(note.meter_number == "MTR-1" for note in recorder.notes) and any(
        note.meter_number == "MTR-X" for note in recorder.notes
    )


async def test_events_and_status_go_through_the_ingest_path(
    broker: Broker, runtime: Runtime, start_channel: ChannelFactory
) -> None:
    ids = await add_meters(runtime, ["MTR-1", "MTR-2", "MTR-3"])
    await start_channel()
    await publish(
        broker, "MTR-1", "events", {"events": [{"code": 40, "timestamp": "2025-03-03T00:00:00Z", "details": {}}]}
    )
    await publish(broker, "MTR-2", "status", b"offline")  # a last will: no contact
    await publish(broker, "MTR-3", "status", b'{"status": "online", "rssi": -71}')

    async def arrived() -> bool:
        async with runtime.sessions() as session:
            heard = await session.scalar(select(Meter.last_seen_at).where(Meter.id == ids["MTR-3"]))
            cover = await session.scalar(select(Event.id).where(Event.meter_id == ids["MTR-1"], Event.code == 40))
        return heard is not None and cover is not None

    await eventually(arrived, what="the event stored and MTR-3 seen")
    async with runtime.sessions() as session:
        meters = {meter.meter_number: meter for meter in (await session.scalars(select(Meter))).all()}
        cover = await session.scalar(select(Event).where(Event.meter_id == ids["MTR-1"], Event.code == 40))
    assert meters["MTR-3"].status is MeterStatus.ONLINE
    assert meters["MTR-2"].last_seen_at is None and meters["MTR-2"].status is MeterStatus.INSTALLED
    assert cover is not None and cover.event_type == "terminal_cover_opened"


async def test_a_meter_cannot_publish_as_another(
    broker: Broker, runtime: Runtime, start_channel: ChannelFactory
) -> None:
    ids = await add_meters(runtime, ["MTR-1", "MTR-2"])
    await start_channel()
    await publish(broker, "MTR-2", "readings", reading(0), topic_meter="MTR-1")  # the broker's ACL drops it
    await publish(broker, "MTR-2", "readings", reading(1))
    await eventually(stored(runtime, 1, ids["MTR-2"]), what="MTR-2's own reading")
    assert await count_readings(runtime, ids["MTR-1"]) == 0


async def test_a_failed_write_is_not_acknowledged_and_is_stored_after_restart(
    broker: Broker, settings: Settings, runtime: Runtime, start_channel: ChannelFactory
) -> None:
    """HES Core stops taking writes (its ingestor closes) with messages in flight; a restarted HES stores them."""
    await add_meters(runtime, ["MTR-1"])
    failures = metric("hes_mqtt_submit_failures_total")
    channel = await start_channel()
    await runtime.ingestor.close()
    await publish(broker, "MTR-1", "readings", *(reading(step) for step in range(20)))

    async def failed() -> bool:
        return metric("hes_mqtt_submit_failures_total") > failures

    await eventually(failed, what="a failed submission")
    await channel.stop()
    assert await count_readings(runtime) == 0

    restarted = Runtime.from_settings(settings)
    try:
        await start_channel(IngestorSink(restarted.ingestor, restarted.sessions))
        await eventually(stored(restarted, 20), what="the redelivered readings")
    finally:
        await restarted.close()


async def test_database_outage_messages_are_redelivered_and_stored_once_it_is_back(
    broker: Broker, settings: Settings, runtime: Runtime, start_channel: ChannelFactory
) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("takes a real PostgreSQL database offline")
    database = make_url(settings.resolved_database_url).database
    await add_meters(runtime, ["MTR-1"])
    await start_channel()
    await publish(broker, "MTR-1", "readings", reading(0))
    await eventually(stored(runtime, 1), what="the first reading")
    failures = metric("hes_mqtt_submit_failures_total")
    connects = metric("hes_mqtt_connects_total")
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
        await publish(broker, "MTR-1", "readings", *(reading(step) for step in range(1, 11)))

        async def failed() -> bool:
            return metric("hes_mqtt_submit_failures_total") > failures

        await eventually(failed, what="a submission failing on the dead database")
    finally:
        await admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true')
        await admin.close()
    await eventually(stored(runtime, 11), what="the readings sent during the outage")
    assert metric("hes_mqtt_connects_total") > connects  # the failure dropped the session; redelivery came after


async def test_the_channel_reconnects_after_a_broker_restart(
    broker: Broker, runtime: Runtime, start_channel: ChannelFactory
) -> None:
    await add_meters(runtime, ["MTR-1"])
    channel = await start_channel()
    broker.restart()
    await publish(broker, "MTR-1", "readings", reading(0))  # queued in the session the broker saved
    await channel.wait_connected(30)
    await eventually(stored(runtime, 1), what="the reading sent after the restart")


async def test_commands_reach_only_their_meter_and_acks_come_back(
    broker: Broker, runtime: Runtime, start_channel: ChannelFactory
) -> None:
    answers: list[CommandAck] = []

    async def on_ack(ack: CommandAck) -> None:
        answers.append(ack)

    channel = await start_channel(on_command_ack=on_ack)
    async with device(broker, "MTR-1") as meter, device(broker, "MTR-2") as intruder:
        await meter.subscribe("hes/meters/MTR-1/commands", qos=1)
        await intruder.subscribe("hes/meters/MTR-1/commands", qos=1)  # not its own: the ACL withholds them
        await intruder.subscribe("hes/meters/MTR-2/commands", qos=1)
        await channel.publish_command("MTR-1", 42, {"action": "disconnect"}, expires_in_s=300)
        await channel.publish_command("MTR-2", "cmd-7", {"action": "read", "obis": ["1-0:1.8.0.255"]})
        command = await anext(aiter(meter.messages))
        assert command.topic.value == "hes/meters/MTR-1/commands"
        body = msgspec_decode(command.payload)
        assert body["commandId"] == 42 and body["payload"] == {"action": "disconnect"} and "issuedAt" in body
        own = await anext(aiter(intruder.messages))
        assert own.topic.value == "hes/meters/MTR-2/commands"  # MTR-1's command never reached MTR-2
        await meter.publish(
            "hes/meters/MTR-1/commands/ack", b'{"commandId": 42, "status": "succeeded", "details": {"relay": "off"}}', 1
        )

    async def answered() -> bool:
        return bool(answers)

    await eventually(answered, what="the acknowledgement")
    assert [(a.meter_number, a.command_id, a.status, dict(a.details)) for a in answers] == [
        ("MTR-1", 42, "succeeded", {"relay": "off"})
    ]


def msgspec_decode(payload: object) -> dict[str, object]:
    """A command message as the meter reads it."""
    assert isinstance(payload, bytes)
    decoded = msgspec.json.decode(payload)
    assert isinstance(decoded, dict)
    return decoded


async def test_an_ack_whose_handler_failed_is_delivered_again(
    broker: Broker, runtime: Runtime, start_channel: ChannelFactory
) -> None:
    calls: list[str] = []

    async def flaky(ack: CommandAck) -> None:
        calls.append(ack.status)
        if len(calls) == 1:
            raise RuntimeError("commands table unavailable")

    await start_channel(on_command_ack=flaky)
    await publish(broker, "MTR-1", "commands/ack", {"commandId": "c-1", "status": "accepted"})

    async def twice() -> bool:
        return len(calls) >= 2

    await eventually(twice, what="the redelivered acknowledgement")
    assert calls[:2] == ["accepted", "accepted"]


async def test_publish_command_without_a_broker_raises(
    broker: Broker, runtime: Runtime, start_channel: ChannelFactory
) -> None:
    channel = await start_channel(timeout_s=0.5)
    broker.stop()
    with pytest.raises(MqttUnavailable):
        await channel.publish_command("MTR-1", 1, {"action": "ping"})
    with pytest.raises(ValueError, match="topic level"):
        await channel.publish_command("MTR/1", 1, {"action": "ping"})


async def test_two_instances_share_the_stream_and_store_it_once(
    broker: Broker, runtime: Runtime, start_channel: ChannelFactory
) -> None:
    meters = [f"MTR-{index}" for index in range(1, 5)]
    await add_meters(runtime, meters)
    first = RecordingSink(IngestorSink(runtime.ingestor, runtime.sessions))
    second = RecordingSink(IngestorSink(runtime.ingestor, runtime.sessions))
    await start_channel(first, client_id="hes-test-a", share_group="hes")
    await start_channel(second, client_id="hes-test-b", share_group="hes")
    sent = await _burst(broker, meters, 500)
    assert sent == 2_000
    await eventually(stored(runtime, 2_000), what="2,000 readings")
    assert first.readings and second.readings  # the broker split the stream between the two instances
    assert len(first.readings) + len(second.readings) >= 2_000


async def test_a_burst_of_100000_qos1_messages_is_stored_completely(
    broker: Broker, runtime: Runtime, start_channel: ChannelFactory
) -> None:
    """The issue's requirement: 100,000 QoS 1 messages through the project's Mosquitto settings, all stored."""
    meters = [f"MTR-{index}" for index in range(1, 9)]
    ids = await add_meters(runtime, meters)
    acked_before = metric("hes_mqtt_acked_total")
    await start_channel()
    sent = await _burst(broker, meters, 12_500)
    assert sent == 100_000
    await eventually(stored(runtime, 100_000), timeout=120, what="100,000 readings")
    for meter_id in ids.values():
        assert await count_readings(runtime, meter_id) == 12_500
    assert metric("hes_mqtt_acked_total") - acked_before >= 100_000
    assert "dropped" not in broker.log.lower()


async def _burst(broker: Broker, meters: list[str], count: int, processes: int = 4) -> int:
    """Publish `count` readings from each meter, from child processes; the number the broker acknowledged."""

    async def publisher(share: list[str]) -> int:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.connectivity.mqtt.burst", "--port", str(broker.port), "--count", str(count),
            *share, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        output, _ = await process.communicate()
        assert process.returncode == 0
        return int(output.decode().strip())

    shares = [meters[index::processes] for index in range(min(processes, len(meters)))]
    return sum(await asyncio.gather(*(publisher(share) for share in shares)))
