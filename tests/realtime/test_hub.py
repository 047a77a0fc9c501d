"""The hub over real websockets: stored batches reach the right rooms only, coalesced; notices reach their rooms."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiohttp
from prometheus_client import REGISTRY

from hes.db.enums import EventCategory, MeterStatus, Role, Severity
from hes.ingest.records import NO_READINGS, IncomingReading, MeterTouch, ReadingColumns, StoredBatch
from hes.obis.codes import ObisCode
from hes.realtime import RealtimeHub, ServerEvent
from hes.services.meter_status import StatusChange
from tests.realtime.conftest import BARRIER, Client, ClientFactory, Fleet, LiveServer, UserTokenFactory, barrier

ENERGY = ObisCode.parse("1-0:1.8.0.255")
VOLTAGE = ObisCode.parse("1-0:32.7.0.255")
T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)
READING = ServerEvent.METER_READING_UPDATE.value


def _batch(meter_id: int, number: str, area: str | None, *values: tuple[ObisCode, int, float]) -> StoredBatch:
    """A stored batch for one meter: (obis, seconds after T0, value) per reading."""
    readings = tuple(
        IncomingReading(meter_id, obis, T0 + timedelta(seconds=at), value, "u") for obis, at, value in values
    )
    last_seen = max(reading.timestamp for reading in readings)
    touch = MeterTouch(meter_id, number, area, last_seen, came_online=False)
    return StoredBatch(ReadingColumns.of(readings), (), (touch,))


async def _watcher(connect: ClientFactory, token: str, room: str) -> Client:
    client = await connect(auth={"token": token})
    assert (await client.join(room))["ok"]
    return client


def _meters(client: Client, event: str = READING) -> list[list[int]]:
    """Per emit received, the meter ids it carried."""
    return [[meter["meterId"] for meter in payload["meters"]] for payload in client.recorder.of(event)]


async def test_a_stored_batch_reaches_its_meter_area_and_all_rooms_only(
    connect: ClientFactory, live: LiveServer, user_token: UserTokenFactory, fleet: Fleet
) -> None:
    token = await user_token(Role.ADMIN)
    meter = fleet.region_meter
    own = await _watcher(connect, token, f"meter-{meter.id}")
    area = await _watcher(connect, token, "area-REG")
    everything = await _watcher(connect, token, "all")
    other_meter = await _watcher(connect, token, f"meter-{fleet.elsewhere_meter.id}")
    other_area = await _watcher(connect, token, "area-ELS")
    # A feeder lies inside the region, but its room shows the feeder's own meters only.
    sub_area = await _watcher(connect, token, "area-FDR")

    await live.hub.batch_stored(_batch(meter.id, "M-REG", "REG", (ENERGY, 0, 100.0), (VOLTAGE, 0, 230.1)))
    await live.hub.flush()
    await barrier(live, own, area, everything, other_meter, other_area, sub_area)

    for client in (own, area, everything):
        [payload] = client.recorder.of(READING)
        assert payload["meters"] == [
            {
                "meterId": meter.id,
                "meterNumber": "M-REG",
                "areaCode": "REG",
                "lastSeenAt": T0.isoformat(),
                "readings": [
                    {"obis": "1-0:1.8.0.255", "timestamp": T0.isoformat(), "value": 100.0, "unit": "u"},
                    {"obis": "1-0:32.7.0.255", "timestamp": T0.isoformat(), "value": 230.1, "unit": "u"},
                ],
            }
        ]
        assert datetime.fromisoformat(payload["sentAt"]).tzinfo is not None
    for client in (other_meter, other_area, sub_area):
        assert [name for name, _ in client.recorder.received] == [BARRIER]


async def test_one_emit_per_room_carries_every_meter_of_that_room(
    connect: ClientFactory, live: LiveServer, user_token: UserTokenFactory, fleet: Fleet
) -> None:
    token = await user_token(Role.ADMIN)
    area = await _watcher(connect, token, "area-REG")
    everything = await _watcher(connect, token, "all")
    feeder_meter = await _watcher(connect, token, f"meter-{fleet.feeder_meter.id}")
    for meter, number, code in [
        (fleet.region_meter, "M-REG", "REG"),
        (fleet.feeder_meter, "M-FDR", "FDR"),
        (fleet.elsewhere_meter, "M-ELS", "ELS"),
    ]:
        await live.hub.batch_stored(_batch(meter.id, number, code, (ENERGY, 0, float(meter.id))))
    await live.hub.flush()
    await barrier(live, area, everything, feeder_meter)
    assert _meters(area) == [[fleet.region_meter.id]]
    assert sorted(_meters(everything)[0]) == sorted(
        [fleet.region_meter.id, fleet.feeder_meter.id, fleet.elsewhere_meter.id]
    )
    assert len(_meters(everything)) == 1
    assert _meters(feeder_meter) == [[fleet.feeder_meter.id]]


class _ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_hundred_batches_within_a_second_leave_as_two_emits_with_the_latest_values(
    connect: ClientFactory, live: LiveServer, user_token: UserTokenFactory, fleet: Fleet
) -> None:
    clock = _ManualClock()
    hub = RealtimeHub(live.sio, clock=clock)
    meter = fleet.region_meter
    watcher = await _watcher(connect, await user_token(Role.ADMIN), f"meter-{meter.id}")
    for step in range(100):
        clock.now = 1000.0 + step * 0.0099  # all within 0.99 s
        await hub.batch_stored(_batch(meter.id, "M-REG", "REG", (ENERGY, step, 100.0 + step), (VOLTAGE, step, step)))
        await hub.flush()  # as often as the loop could: the meter is released once, then held
    clock.now = 1001.0  # its second has passed
    assert await hub.flush() is None  # nothing left waiting
    await barrier(live, watcher)

    first, second = watcher.recorder.of(READING)
    assert [reading["value"] for reading in first["meters"][0]["readings"]] == [100.0, 0.0]
    latest = second["meters"][0]
    assert [reading["value"] for reading in latest["readings"]] == [199.0, 99.0]
    assert latest["lastSeenAt"] == (T0 + timedelta(seconds=99)).isoformat()


async def test_the_running_hub_coalesces_a_burst(
    connect: ClientFactory, live: LiveServer, user_token: UserTokenFactory, fleet: Fleet
) -> None:
    meter = fleet.region_meter
    watcher = await _watcher(connect, await user_token(Role.ADMIN), f"meter-{meter.id}")
    await live.hub.start()
    for step in range(100):
        await live.hub.batch_stored(_batch(meter.id, "M-REG", "REG", (ENERGY, step, 100.0 + step)))
    await watcher.recorder.until(
        lambda: any(m["readings"][0]["value"] == 199.0 for p in watcher.recorder.of(READING) for m in p["meters"])
    )
    await barrier(live, watcher)
    assert len(watcher.recorder.of(READING)) <= 2


async def test_a_reading_after_a_quiet_spell_leaves_at_once_and_one_during_a_burst_waits_for_the_tick(
    connect: ClientFactory, live: LiveServer, user_token: UserTokenFactory, fleet: Fleet
) -> None:
    hub = RealtimeHub(live.sio, tick_s=2.0)
    watcher = await _watcher(connect, await user_token(Role.ADMIN), "all")
    await hub.start()
    try:
        began = time.monotonic()
        await hub.batch_stored(_batch(fleet.region_meter.id, "M-REG", "REG", (ENERGY, 0, 100.0)))
        await watcher.recorder.until(lambda: len(watcher.recorder.of(READING)) == 1)
        assert time.monotonic() - began < 1.0  # not held for the tick

        await hub.batch_stored(_batch(fleet.elsewhere_meter.id, "M-ELS", "ELS", (ENERGY, 0, 7.0)))
        await asyncio.sleep(0.5)
        assert len(watcher.recorder.of(READING)) == 1  # emits stay a tick apart while readings keep coming
        await watcher.recorder.until(lambda: len(watcher.recorder.of(READING)) == 2)
        assert time.monotonic() - began >= 2.0
        assert _meters(watcher) == [[fleet.region_meter.id], [fleet.elsewhere_meter.id]]
    finally:
        await hub.stop()


async def test_a_client_that_stops_reading_is_disconnected_and_the_others_keep_their_updates(
    connect: ClientFactory, live: LiveServer, user_token: UserTokenFactory
) -> None:
    token = await user_token(Role.ADMIN)
    hub = RealtimeHub(live.sio, max_queued_packets=3)
    reader = await _watcher(connect, token, "all")
    stalled = await _stalled_watcher(live.url, token, "all")
    slow_before = _slow_clients()
    try:
        for wave in range(200):  # ~150 KB each: the stalled socket's buffers fill, then its send queue grows
            await hub.batch_stored(_many_meters(first_id=10_000 + wave * 1_000, count=1_000))
            await hub.flush()
            if _slow_clients() > slow_before:
                break
            await asyncio.sleep(0.01)
        assert _slow_clients() == slow_before + 1
        assert len(list(live.sio.manager.get_participants("/", "all"))) == 1  # nothing more is queued for it
        await barrier(live, reader)  # the reading client is still connected and got every wave
        assert len(reader.recorder.of(READING)) == wave + 1
        assert reader.sio.connected
    finally:
        await stalled.close()


async def _stalled_watcher(url: str, token: str, room: str) -> aiohttp.ClientWebSocketResponse:
    """A Socket.IO client over a bare websocket that joins `room` and then never reads again."""
    session = aiohttp.ClientSession()
    socket = await session.ws_connect(f"{url}/socket.io/?EIO=4&transport=websocket", max_msg_size=0)
    socket.close = _closing(socket, session)  # type: ignore[method-assign]
    assert (await socket.receive_str()).startswith("0")  # engine.io open
    await socket.send_str("40" + json.dumps({"token": token}))
    assert (await socket.receive_str()).startswith("40")  # Socket.IO connect accepted
    await socket.send_str("421" + json.dumps(["join-room", room]))
    assert json.loads((await socket.receive_str())[3:])[0]["ok"]
    return socket


def _closing(socket: aiohttp.ClientWebSocketResponse, session: aiohttp.ClientSession):  # type: ignore[no-untyped-def]
    close = socket.close

    async def close_both() -> bool:
        await close()
        await session.close()
        return True

    return close_both


def _many_meters(first_id: int, count: int) -> StoredBatch:
    ids = range(first_id, first_id + count)
    readings = tuple(IncomingReading(meter_id, ENERGY, T0, 1_000.0 + meter_id, "Wh") for meter_id in ids)
    touches = tuple(MeterTouch(meter_id, f"M-{meter_id}", "REG", T0, came_online=False) for meter_id in ids)
    return StoredBatch(ReadingColumns.of(readings), (), touches)


def _slow_clients() -> float:
    return REGISTRY.get_sample_value("hes_realtime_slow_clients_disconnected_total") or 0.0


async def test_an_older_reading_arriving_late_does_not_replace_a_newer_one(
    connect: ClientFactory, live: LiveServer, user_token: UserTokenFactory, fleet: Fleet
) -> None:
    meter = fleet.region_meter
    watcher = await _watcher(connect, await user_token(Role.ADMIN), f"meter-{meter.id}")
    await live.hub.batch_stored(_batch(meter.id, "M-REG", "REG", (ENERGY, 60, 160.0)))
    await live.hub.batch_stored(_batch(meter.id, "M-REG", "REG", (ENERGY, 0, 100.0)))  # a backfilled profile entry
    await live.hub.flush()
    await barrier(live, watcher)
    [payload] = watcher.recorder.of(READING)
    assert payload["meters"][0]["readings"][0]["value"] == 160.0
    assert payload["meters"][0]["lastSeenAt"] == (T0 + timedelta(seconds=60)).isoformat()


async def test_a_meter_coming_back_online_is_announced(
    connect: ClientFactory, live: LiveServer, user_token: UserTokenFactory, fleet: Fleet
) -> None:
    watcher = await _watcher(connect, await user_token(Role.ADMIN), "area-REG")
    touch = MeterTouch(fleet.region_meter.id, "M-REG", "REG", T0, came_online=True)
    await live.hub.batch_stored(StoredBatch(NO_READINGS, (), (touch,)))
    await live.hub.flush()
    await barrier(live, watcher)
    [payload] = watcher.recorder.of(ServerEvent.METER_STATUS_CHANGE.value)
    assert payload["meters"] == [
        {
            "meterId": fleet.region_meter.id,
            "meterNumber": "M-REG",
            "areaCode": "REG",
            "status": "online",
            "previousStatus": None,
            "lastSeenAt": T0.isoformat(),
            "changedAt": T0.isoformat(),
        }
    ]
    assert watcher.recorder.of(READING) == []  # nothing new was stored


@dataclass(frozen=True)
class _Alert:
    id: int
    meter_id: int | None
    meter_number: str | None
    area_code: str | None
    alert_type: str = "tamper"
    severity: Severity = Severity.CRITICAL
    status: str = "open"
    message: str = "cover opened"
    occurrences: int = 1
    last_seen_at: datetime = T0


@dataclass(frozen=True)
class _Event:
    id: int
    meter_id: int | None
    meter_number: str | None
    area_code: str | None
    event_type: str = "cover_opened"
    category: EventCategory = EventCategory.TAMPER
    severity: Severity = Severity.WARNING
    code: int | None = 40
    occurred_at: datetime = T0
    details: Mapping[str, str | int | float | bool | None] = field(default_factory=lambda: {"phase": "L1"})


@dataclass(frozen=True)
class _Command:
    id: int
    meter_id: int | None
    meter_number: str | None
    area_code: str | None
    command_type: str = "relay_disconnect"
    status: str = "succeeded"
    requested_by: str = "operator-1"
    error: str | None = None


async def test_alerts_events_and_commands_reach_their_rooms(
    connect: ClientFactory, live: LiveServer, user_token: UserTokenFactory, fleet: Fleet
) -> None:
    token = await user_token(Role.ADMIN)
    meter = fleet.region_meter
    own = await _watcher(connect, token, f"meter-{meter.id}")
    area = await _watcher(connect, token, "area-REG")
    other_area = await _watcher(connect, token, "area-ELS")
    await live.hub.alert_created(_Alert(7, meter.id, "M-REG", "REG"))
    await live.hub.event_logged(_Event(8, meter.id, "M-REG", "REG"))
    await live.hub.command_update(_Command(9, meter.id, "M-REG", "REG"))
    await barrier(live, own, area, other_area)
    for client in (own, area):
        assert [name for name, _ in client.recorder.received][:3] == ["alert-created", "event-logged", "command-update"]
        [alert] = client.recorder.of("alert-created")
        assert alert == {
            "id": 7,
            "meterId": meter.id,
            "meterNumber": "M-REG",
            "areaCode": "REG",
            "alertType": "tamper",
            "severity": "critical",
            "status": "open",
            "message": "cover opened",
            "occurrences": 1,
            "lastSeenAt": T0.isoformat(),
        }
        [event] = client.recorder.of("event-logged")
        assert (event["id"], event["category"], event["code"], event["details"]) == (8, "tamper", 40, {"phase": "L1"})
        [command] = client.recorder.of("command-update")
        assert (command["id"], command["commandType"], command["status"]) == (9, "relay_disconnect", "succeeded")
    assert [name for name, _ in other_area.recorder.received] == [BARRIER]


async def test_status_changes_from_the_check_reach_the_rooms(
    connect: ClientFactory, live: LiveServer, user_token: UserTokenFactory, fleet: Fleet
) -> None:
    watcher = await _watcher(connect, await user_token(Role.ADMIN), "all")
    changes = [
        StatusChange(fleet.region_meter.id, "M-REG", "REG", MeterStatus.ONLINE, MeterStatus.OFFLINE, T0, T0),
        StatusChange(fleet.elsewhere_meter.id, "M-ELS", "ELS", MeterStatus.OFFLINE, MeterStatus.ONLINE, T0, T0),
    ]
    await live.hub.status_changed(changes)
    await barrier(live, watcher)
    [payload] = watcher.recorder.of(ServerEvent.METER_STATUS_CHANGE.value)
    assert [(m["meterNumber"], m["previousStatus"], m["status"]) for m in payload["meters"]] == [
        ("M-REG", "online", "offline"),
        ("M-ELS", "offline", "online"),
    ]


async def test_readings_are_not_queued_while_nobody_is_connected(
    connect: ClientFactory, live: LiveServer, user_token: UserTokenFactory, fleet: Fleet
) -> None:
    unwatched, watched = fleet.region_meter, fleet.feeder_meter
    await live.hub.batch_stored(_batch(unwatched.id, "M-REG", "REG", (ENERGY, 0, 1.0)))  # no browser yet
    watcher = await _watcher(connect, await user_token(Role.ADMIN), "all")
    await live.hub.batch_stored(_batch(watched.id, "M-FDR", "FDR", (ENERGY, 1, 2.0)))
    await live.hub.flush()
    await barrier(live, watcher)
    assert _meters(watcher) == [[watched.id]]
