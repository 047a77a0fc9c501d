"""Pushes over real TCP: a simulated push fleet (and hand-made frames) against the inbound port, stored through the
real ingest path in the test database; tampered, replayed, downgraded, unknown and garbage pushes store nothing."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hes.connectivity.push_receiver import PUSH_REJECTED
from hes.db.enums import ConnectionMode, EventCategory, MeterStatus, ReadingSource, Role, Severity
from hes.runtime import Runtime
from hes.services.meters import MeterFields, update_meter
from hes.services.principal import Principal
from hes.simulator.fleet import FleetSpec, fleet_from_options
from hes.simulator.push import PushRunner, PushSettings
from hes.simulator.push_messages import AlarmBit, PushMessages
from hes.simulator.server import build_meters, run_fleet
from tests.connectivity.inbound_meters import (
    event_types,
    events,
    eventually,
    inbound_port,
    meter,
    readings,
    register,
    send,
)
from tests.simulator.gurux_peer import ENERGY_WH, NOW, tiny_objects

ENERGY = "1-0:1.8.0.255"
ADMIN = Principal(user_id=0, username="test", role=Role.ADMIN)


@contextlib.asynccontextmanager
async def pushing(fleet: FleetSpec, port: int, **options: Any) -> AsyncIterator[PushRunner]:
    """The fleet (tiny objects: energy 123456, clock NOW) listening and pushing to `port`."""
    settings = {"interval_s": 0.3, "alarm_poll_s": 0.05, **options}
    async with run_fleet(fleet, objects=tiny_objects) as server:
        runner = PushRunner(fleet, list(server.meters.values()), PushSettings("127.0.0.1", port, **settings))
        await runner.start()
        try:
            yield runner
        finally:
            await runner.close()


def _messages(fleet: FleetSpec) -> PushMessages:
    (simulated,) = build_meters(fleet, tiny_objects)
    return PushMessages(simulated, fleet.meters[0])


# Hexing's energy register has scaler 0 (Wh), Hexcell's scaler 1 (tens of Wh): the same raw value, scaled apart.
@pytest.mark.parametrize(("brand", "scaled"), [("hexing", ENERGY_WH), ("hexcell", ENERGY_WH * 10)])
async def test_a_push_fleet_lands_as_scaled_readings_and_its_meters_go_online(
    runtime: Runtime, brand: str, scaled: int
) -> None:
    fleet = fleet_from_options(2, brand=brand, base_port=0)
    ids = await register(runtime, fleet.meters, mode=ConnectionMode.PUSH)
    async with inbound_port(runtime) as server, pushing(fleet, server.port):
        for meter_id in ids.values():
            stored = await eventually(functools.partial(readings, runtime, meter_id), "a pushed reading")
            assert {(row.obis, row.ts, row.value, row.source) for row in stored} == {
                (ENERGY, NOW, float(scaled), ReadingSource.DLMS_PUSH)
            }
        assert server.registry.connected() == []  # push connections are not held
    for meter_id in ids.values():
        row = await meter(runtime, meter_id)
        assert row.status is MeterStatus.ONLINE and row.last_seen_at is not None


@pytest.mark.parametrize("transport", ["wrapper", "hdlc"])
async def test_ciphered_pushes_are_deciphered_and_stored(runtime: Runtime, transport: str) -> None:
    fleet = fleet_from_options(1, transport=transport, auth="hls", base_port=0)
    (meter_id,) = (await register(runtime, fleet.meters, mode=ConnectionMode.PUSH)).values()
    async with inbound_port(runtime) as server, pushing(fleet, server.port):
        stored = await eventually(lambda: readings(runtime, meter_id), "a ciphered push stored")
    assert stored[0].value == ENERGY_WH
    assert PUSH_REJECTED not in await event_types(runtime, meter_id)


async def test_an_alarm_push_becomes_events(runtime: Runtime) -> None:
    fleet = fleet_from_options(1, base_port=0)
    (number, meter_id), *_ = (await register(runtime, fleet.meters, mode=ConnectionMode.PUSH)).items()
    async with inbound_port(runtime) as server, pushing(fleet, server.port, interval_s=3600.0) as runner:
        runner.raise_alarm(number, AlarmBit.FRAUD_ATTEMPT | AlarmBit.POWER_UP)
        stored = await eventually(lambda: events(runtime, meter_id), "the alarm's events")
    by_type = {event.event_type: event for event in stored}
    assert set(by_type) == {"fraud_attempt", "power_up"}
    fraud = by_type["fraud_attempt"]
    assert (fraud.category, fraud.severity, fraud.occurred_at) == (EventCategory.TAMPER, Severity.ERROR, NOW)
    assert fraud.details is not None and fraud.details["alarmBits"] == AlarmBit.FRAUD_ATTEMPT | AlarmBit.POWER_UP


async def test_several_pushes_on_one_connection_are_all_taken(runtime: Runtime) -> None:
    fleet = fleet_from_options(1, base_port=0)
    (meter_id,) = (await register(runtime, fleet.meters, mode=ConnectionMode.PUSH)).values()
    messages = _messages(fleet)
    async with inbound_port(runtime) as server:
        assert await send(server.port, messages.push() + messages.alarm(AlarmBit.REPLACE_BATTERY)) == b""
    assert [row.value for row in await readings(runtime, meter_id)] == [ENERGY_WH]
    assert await event_types(runtime, meter_id) == ["battery_replace"]


async def test_a_tampered_or_replayed_ciphered_push_is_refused_and_recorded(runtime: Runtime) -> None:
    fleet = fleet_from_options(1, auth="hls", base_port=0)
    (meter_id,) = (await register(runtime, fleet.meters, mode=ConnectionMode.PUSH)).values()
    messages = _messages(fleet)
    genuine = messages.push()
    tampered = bytearray(messages.push())
    tampered[-20] ^= 0x01  # one ciphertext octet: the GCM tag no longer verifies
    async with inbound_port(runtime) as server:
        await send(server.port, bytes(tampered))
        assert await readings(runtime, meter_id) == []
        rejected = await events(runtime, meter_id)
        assert [event.event_type for event in rejected] == [PUSH_REJECTED]
        assert rejected[0].category is EventCategory.COMMUNICATION
        assert rejected[0].details is not None and "does not verify" in rejected[0].details["reason"]
        await send(server.port, genuine)  # counter 1: accepted
        await send(server.port, genuine)  # the same counter again: a replay
    assert len(await readings(runtime, meter_id)) == 1
    rejected = await events(runtime, meter_id)
    assert [event.event_type for event in rejected] == [PUSH_REJECTED, PUSH_REJECTED]
    assert rejected[1].details is not None and "replayed" in rejected[1].details["reason"]


async def test_a_replay_is_refused_after_a_restart_and_by_another_instance(runtime: Runtime) -> None:
    fleet = fleet_from_options(1, auth="hls", base_port=0)
    (meter_id,) = (await register(runtime, fleet.meters, mode=ConnectionMode.PUSH)).values()
    messages = _messages(fleet)
    first, second = messages.push(), messages.push()  # invocation counters 1 and 2
    async with inbound_port(runtime) as one_instance, inbound_port(runtime) as another:
        await send(one_instance.port, second)
        await send(another.port, second)  # the same push to a peer that never saw it
        await send(another.port, first)  # an older one
    async with inbound_port(runtime) as restarted:
        await send(restarted.port, second)
    assert len(await readings(runtime, meter_id)) == 1
    rejected = await events(runtime, meter_id)
    assert [event.event_type for event in rejected] == [PUSH_REJECTED] * 3
    assert all(event.details is not None and "replayed" in event.details["reason"] for event in rejected)
    assert (await meter(runtime, meter_id)).dlms_push_counter == 2


async def test_a_new_block_cipher_key_counts_pushes_afresh(runtime: Runtime) -> None:
    fleet = fleet_from_options(1, auth="hls", base_port=0)
    (meter_id,) = (await register(runtime, fleet.meters, mode=ConnectionMode.PUSH)).values()
    async with inbound_port(runtime) as server:
        await send(server.port, _messages(fleet).push())
    assert (await meter(runtime, meter_id)).dlms_push_counter == 1
    async with runtime.sessions() as session:
        key = "00112233445566778899AABBCCDDEEFF"
        changed = MeterFields(dlms_block_cipher_key=key)
        await update_meter(session, ADMIN, meter_id, changed, frozenset({"dlms_block_cipher_key"}), runtime.secret_box)
    assert (await meter(runtime, meter_id)).dlms_push_counter is None


async def test_a_plain_push_in_the_name_of_a_ciphered_meter_is_refused(runtime: Runtime) -> None:
    ciphered = fleet_from_options(1, auth="hls", base_port=0)
    impostor = fleet_from_options(1, auth="none", base_port=0)  # the same meter number, no keys
    assert impostor.meters[0].meter_number == ciphered.meters[0].meter_number
    (meter_id,) = (await register(runtime, ciphered.meters, mode=ConnectionMode.PUSH)).values()
    async with inbound_port(runtime) as server:
        await send(server.port, _messages(impostor).push())
    assert await readings(runtime, meter_id) == []
    (event,) = await events(runtime, meter_id)
    assert event.event_type == PUSH_REJECTED and event.details is not None and "unprotected" in event.details["reason"]


async def test_unknown_senders_and_garbage_store_nothing_and_the_port_keeps_serving(runtime: Runtime) -> None:
    known = fleet_from_options(1, base_port=0)
    stranger = fleet_from_options(1, brand="idis", base_port=0)
    (meter_id,) = (await register(runtime, known.meters, mode=ConnectionMode.PUSH)).values()
    async with inbound_port(runtime, announcement_timeout=0.5) as server:
        assert await send(server.port, _messages(stranger).push()) == b""  # no such meter: closed
        assert await send(server.port, b"GET / HTTP/1.1\r\nHost: hes\r\n\r\n") == b""
        # A frame promising 64 kB that never come: closed when the announcement time is up.
        assert await send(server.port, b"\x00\x01\x00\x01\x00\x66\xff\xff" + bytes(100), hang_up=False) == b""
        assert await send(server.port, b"\x7e\xa0\x07\x03\x21\x93\x0f\x01\x7e") == b""  # a client's SNRM: no push
        assert await readings(runtime, meter_id) == [] and await events(runtime, meter_id) == []
        await send(server.port, _messages(known).push())
        assert [row.value for row in await readings(runtime, meter_id)] == [ENERGY_WH]
