"""Signing in on connect, joining rooms by role and area, and meter clients submitting readings, over websockets."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hes.config import Settings
from hes.db.engine import make_engine, make_session_factory
from hes.db.enums import ReadingSource, Role
from hes.db.tables import Meter, User
from hes.ingest.ingestor import Ingestor, IngestSettings
from hes.obis.codes import ObisCode
from hes.realtime.device import MAX_READINGS_PER_UPDATE
from hes.runtime import Runtime
from hes.services import device_tokens
from hes.services.device_tokens import DeviceTokenScope
from hes.services.listing import Pagination
from hes.services.readings import ReadingView, list_readings
from tests.ingest.fleet import ENERGY, SYSTEM, count_readings
from tests.realtime.conftest import (
    ClientFactory,
    Fleet,
    UserTokenFactory,
    expired_token,
    refusal,
)


async def test_a_connection_without_a_token_is_refused(connect: ClientFactory) -> None:
    assert await refusal(connect) == "missing access token"
    assert await refusal(connect, auth={"token": ""}) == "missing access token"
    assert await refusal(connect, auth={"token": 42}) == "missing access token"


async def test_a_forged_expired_or_refresh_token_is_refused(
    connect: ClientFactory, settings: Settings, user_token: UserTokenFactory
) -> None:
    assert await refusal(connect, auth={"token": "not-a-jwt"}) == "invalid token"
    assert await refusal(connect, auth={"token": expired_token(settings)}) == "token expired"
    forged = expired_token(Settings(jwt_secret="x" * 64, _env_file=None))
    assert await refusal(connect, auth={"token": forged}) == "invalid token"


async def test_a_disabled_account_is_refused(
    connect: ClientFactory, runtime: Runtime, user_token: UserTokenFactory
) -> None:
    token = await user_token(Role.VIEWER)
    async with runtime.sessions() as session:
        await session.execute(update(User).values(is_active=False))
        await session.commit()
    assert await refusal(connect, auth={"token": token}) == "token revoked"


async def test_the_token_may_come_in_the_auth_payload_or_the_authorization_header(
    connect: ClientFactory, user_token: UserTokenFactory
) -> None:
    token = await user_token(Role.ADMIN)
    by_auth = await connect(auth={"token": token})
    by_header = await connect(headers={"Authorization": f"Bearer {token}"})
    assert (await by_auth.join("all"))["ok"]
    assert (await by_header.join({"room": "all"}))["ok"]


async def test_an_admin_may_join_every_room(connect: ClientFactory, user_token: UserTokenFactory, fleet: Fleet) -> None:
    client = await connect(auth={"token": await user_token(Role.ADMIN)})
    for room in ["all", "area-REG", "area-ELS", f"meter-{fleet.elsewhere_meter.id}"]:
        assert await client.join({"room": room}) == {"ok": True, "error": None, "room": room}
    # The area code is matched as the areas API matches it; the answer names the room that is emitted to.
    assert await client.join("area-reg") == {"ok": True, "error": None, "room": "area-REG"}


async def test_staff_limited_to_a_region_see_it_and_its_feeders_only(
    connect: ClientFactory, user_token: UserTokenFactory, fleet: Fleet
) -> None:
    token = await user_token(Role.OPERATOR, area_ids=frozenset({fleet.region.id}))
    client = await connect(auth={"token": token})
    allowed = ["area-REG", "area-FDR", f"meter-{fleet.region_meter.id}", f"meter-{fleet.feeder_meter.id}"]
    for room in allowed:
        assert (await client.join(room))["ok"], room
    for room in ["all", "area-ELS", f"meter-{fleet.elsewhere_meter.id}"]:
        assert await client.join(room) == {"ok": False, "error": f"you may not join {room}", "room": None}


async def test_staff_without_area_limits_may_watch_everything(
    connect: ClientFactory, user_token: UserTokenFactory, fleet: Fleet
) -> None:
    client = await connect(auth={"token": await user_token(Role.VIEWER)})
    for room in ["all", "area-ELS", f"meter-{fleet.feeder_meter.id}"]:
        assert (await client.join(room))["ok"], room


async def test_a_customer_sees_only_its_own_meters(
    connect: ClientFactory, user_token: UserTokenFactory, fleet: Fleet
) -> None:
    client = await connect(auth={"token": await user_token(Role.CUSTOMER, customer_id=fleet.alice.id)})
    assert (await client.join(f"meter-{fleet.region_meter.id}"))["ok"]
    for room in [f"meter-{fleet.elsewhere_meter.id}", f"meter-{fleet.feeder_meter.id}", "area-REG", "all"]:
        assert not (await client.join(room))["ok"], room


async def test_unknown_rooms_and_malformed_requests_are_refused(
    connect: ClientFactory, user_token: UserTokenFactory, fleet: Fleet
) -> None:
    client = await connect(auth={"token": await user_token(Role.ADMIN)})
    unknown = {"ok": False, "error": "unknown room; use meter-{id}, area-{code} or all", "room": None}
    for request in [None, 7, {"room": 7}, {}, "", "everything", "meter-0", "meter-x", "meter-99999999999", "area-"]:
        assert await client.join(request) == unknown, request
    # Well-formed, but naming nothing: refused like a room the user may not see.
    assert await client.join("meter-999999") == {"ok": False, "error": "you may not join meter-999999", "room": None}
    assert await client.join("area-NOPE") == {"ok": False, "error": "you may not join area-NOPE", "room": None}
    # The connection survives all of it.
    assert (await client.join("all"))["ok"]


async def test_leaving_a_room_is_acknowledged(connect: ClientFactory, user_token: UserTokenFactory) -> None:
    client = await connect(auth={"token": await user_token(Role.ADMIN)})
    await client.join("all")
    assert await client.call("leave-room", {"room": "all"}) == {"ok": True, "error": None, "room": "all"}
    assert await client.call("leave-room", "all") == {"ok": True, "error": None, "room": "all"}
    assert not (await client.call("leave-room", {"room": 5}))["ok"]


async def _device_token(runtime: Runtime, meter_id: int, scope: DeviceTokenScope = DeviceTokenScope.METER) -> str:
    """A token issued as an operator issues it, through the cache the Socket.IO server checks tokens against."""
    async with runtime.sessions() as session:
        return (await device_tokens.issue(session, SYSTEM, meter_id, scope, runtime.device_tokens)).token


def _reading(meter_number: str, **overrides: object) -> dict[str, object]:
    reading: dict[str, object] = {
        "meterNumber": meter_number,
        "obis": ENERGY,
        "timestamp": "2024-05-01T12:00:00Z",
        "value": 1234.5,
        "unit": "kWh",
    }
    reading.update(overrides)
    return reading


async def _stored(runtime: Runtime, meter_id: int) -> list[ReadingView]:
    async with runtime.sessions() as session:
        return (await list_readings(session, SYSTEM, meter_id, Pagination(limit=100))).items


async def test_a_meter_client_submits_readings_through_ingest(
    connect: ClientFactory, runtime: Runtime, fleet: Fleet
) -> None:
    meter = await connect(auth={"deviceToken": await _device_token(runtime, fleet.region_meter.id)})
    update = {"readings": [_reading("M-REG")]}
    assert await meter.call("meter-update", update) == {"accepted": 1, "duplicates": 0, "rejected": [], "error": None}
    [reading] = await _stored(runtime, fleet.region_meter.id)
    assert reading.obis == ObisCode.parse(ENERGY)
    assert reading.timestamp == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert (reading.value, reading.source) == (1_234_500.0, ReadingSource.SOCKETIO)  # sent in kWh, stored in Wh
    # A repeat (the meter never saw the ack) is not an error and stores nothing twice.
    assert await meter.call("meter-update", update) == {"accepted": 0, "duplicates": 1, "rejected": [], "error": None}
    assert await count_readings(runtime) == 1


async def test_each_bad_reading_is_rejected_with_its_reason_and_the_rest_accepted(
    connect: ClientFactory, runtime: Runtime, fleet: Fleet
) -> None:
    meter = await connect(auth={"deviceToken": await _device_token(runtime, fleet.region_meter.id)})
    readings = [
        _reading("M-REG"),
        _reading("M-ELS"),  # another meter: this token does not cover it
        _reading("NO-SUCH-METER"),
        _reading("M-REG", obis="energy"),
        _reading("M-REG", obis="1-0:200.200.200.200"),  # well formed, but in no profile and never stored
        _reading("M-REG", timestamp="2024-05-01T12:00:00"),
        _reading("M-REG", timestamp="2099-01-01T00:00:00Z"),
        _reading("M-REG", timestamp="yesterday"),
        _reading("M-REG", value=True),
        _reading("M-REG", value=math.nan),
        _reading("M-REG", unit=["kWh"]),
        "not an object",
        _reading("M-REG", timestamp="2024-05-01T12:15:00+01:00", value=-0.5),
    ]
    answer = await meter.call("meter-update", {"readings": readings})
    assert (answer["accepted"], answer["duplicates"], answer["error"]) == (2, 0, None)
    reasons = {reject["index"]: reject["reason"] for reject in answer["rejected"]}
    assert sorted(reasons) == list(range(1, 12))
    # What the ingest path judges, it refuses with the codes HTTP and MQTT senders get.
    assert [reasons[index] for index in range(1, 7)] == [
        "meter_not_allowed",
        "unknown_meter",
        "invalid_obis",
        "unknown_obis",
        "naive_timestamp",
        "future_timestamp",
    ]
    assert reasons[9] == "not_finite"
    # What is no reading at all is told in words.
    assert "ISO 8601" in reasons[7] and "number" in reasons[8] and "unit" in reasons[10] and "object" in reasons[11]
    stored = await _stored(runtime, fleet.region_meter.id)
    assert sorted(reading.value for reading in stored) == [-500.0, 1_234_500.0]  # kWh stored as Wh
    assert await count_readings(runtime) == 2


async def test_a_gateway_token_covers_its_concentrators_meters(
    connect: ClientFactory, runtime: Runtime, fleet: Fleet
) -> None:
    token = await _device_token(runtime, fleet.region_meter.id, DeviceTokenScope.CONCENTRATOR)
    gateway = await connect(auth={"deviceToken": token})
    answer = await gateway.call("meter-update", {"readings": [_reading("M-REG"), _reading("M-FDR"), _reading("M-ELS")]})
    assert answer == {
        "accepted": 2,
        "duplicates": 0,
        "rejected": [{"index": 2, "reason": "meter_not_allowed"}],
        "error": None,
    }
    assert [await count_readings(runtime, meter.id) for meter in (fleet.region_meter, fleet.feeder_meter)] == [1, 1]
    assert await count_readings(runtime, fleet.elsewhere_meter.id) == 0


async def test_a_malformed_or_oversized_update_is_refused_whole(
    connect: ClientFactory, runtime: Runtime, fleet: Fleet
) -> None:
    meter = await connect(auth={"deviceToken": await _device_token(runtime, fleet.region_meter.id)})
    payloads: list[object] = [None, [], "readings", {"readings": "all of them"}]
    for payload in payloads:
        answer = await meter.call("meter-update", payload)
        assert answer == {
            "accepted": 0,
            "duplicates": 0,
            "rejected": [],
            "error": 'meter-update takes {"readings": [...]}: must be a list',
        }, payload
    answer = await meter.call("meter-update", {"readings": [_reading("M-REG")] * (MAX_READINGS_PER_UPDATE + 1)})
    assert answer["accepted"] == 0
    assert answer["error"] == f"too many readings in one meter-update: at most 5000, got {MAX_READINGS_PER_UPDATE + 1}"
    assert await count_readings(runtime) == 0


async def test_the_ack_carries_what_ingest_refused_and_what_it_already_had(
    connect: ClientFactory, runtime: Runtime, fleet: Fleet
) -> None:
    meter = await connect(auth={"deviceToken": await _device_token(runtime, fleet.region_meter.id)})
    early = _reading("M-REG", timestamp="2024-05-01T11:00:00Z")
    late = _reading("M-REG", timestamp="2099-01-01T00:00:00Z")
    assert (await meter.call("meter-update", {"readings": [early]}))["accepted"] == 1
    answer = await meter.call("meter-update", {"readings": ["bad", early, late, _reading("M-REG")]})
    assert answer == {
        "accepted": 1,
        "duplicates": 1,
        "rejected": [
            {"index": 0, "reason": "a reading is an object with meterNumber, obis, timestamp, value and unit"},
            {"index": 2, "reason": "future_timestamp"},
        ],
        "error": None,
    }
    assert await count_readings(runtime) == 2


async def test_when_ingest_is_at_capacity_the_meter_is_told_to_retry(
    connect: ClientFactory, runtime: Runtime, fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    meter = await connect(auth={"deviceToken": await _device_token(runtime, fleet.region_meter.id)})
    small = _ingestor(runtime, runtime.sessions, queue_readings=1, submit_wait=0.2, writers=1, linger=0)
    monkeypatch.setattr(runtime, "ingestor", small)
    try:
        async with runtime.sessions() as blocker:
            # Another transaction holds the meter's row: the first update waits in the (full) queue.
            await blocker.execute(update(Meter).where(Meter.id == fleet.region_meter.id).values(firmware="locked"))
            first = asyncio.create_task(meter.call("meter-update", {"readings": [_reading("M-REG")]}))
            while small.queued < 1:
                await asyncio.sleep(0.01)
            answer = await meter.call("meter-update", {"readings": [_reading("M-REG", value=1.0)]})
            await blocker.rollback()
        assert (await first)["accepted"] == 1
    finally:
        await small.close()
    assert answer == {"accepted": 0, "duplicates": 0, "rejected": [], "error": "ingest is at capacity; retry shortly"}
    assert await count_readings(runtime) == 1


async def test_when_the_database_cannot_take_the_readings_the_meter_is_told_to_retry(
    connect: ClientFactory, runtime: Runtime, fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    meter = await connect(auth={"deviceToken": await _device_token(runtime, fleet.region_meter.id)})
    # Token and meter lookups work; the write goes to a port nothing listens on.
    dead = make_engine("postgresql+asyncpg://postgres@127.0.0.1:9/nothing")
    unreachable = _ingestor(runtime, make_session_factory(dead), linger=0, write_timeout=5)
    monkeypatch.setattr(runtime, "ingestor", unreachable)
    try:
        answer = await meter.call("meter-update", {"readings": ["bad", _reading("M-REG")]})
    finally:
        await unreachable.close()
        await dead.dispose()
    assert answer["error"] == "the database is unavailable; retry shortly"
    assert (answer["accepted"], [reject["index"] for reject in answer["rejected"]]) == (0, [0])
    assert await count_readings(runtime) == 0


def _ingestor(runtime: Runtime, sessions: async_sessionmaker[AsyncSession], **settings: Any) -> Ingestor:
    """Another Ingestor on the runtime's meter directory and OBIS catalogue."""
    return Ingestor(sessions, IngestSettings(**settings), runtime.ingestor.directory, runtime.ingestor.catalogue)


async def test_unknown_revoked_and_user_tokens_cannot_send(
    connect: ClientFactory, runtime: Runtime, user_token: UserTokenFactory, fleet: Fleet
) -> None:
    assert await refusal(connect, auth={"deviceToken": 12}) == "missing device token"
    assert await refusal(connect, auth={"deviceToken": ""}) == "missing device token"
    assert await refusal(connect, auth={"deviceToken": "guessed"}) == "invalid device token"
    assert await refusal(connect, auth={"deviceToken": "hesdt_guessed"}) == "invalid or revoked device token"
    user_jwt = await user_token(Role.ADMIN)
    assert await refusal(connect, auth={"deviceToken": user_jwt}) == (
        "a user's access token cannot send meter data; use a device token"
    )
    token = await _device_token(runtime, fleet.region_meter.id)
    meter = await connect(auth={"deviceToken": token})
    assert (await meter.call("meter-update", {"readings": [_reading("M-REG")]}))["accepted"] == 1
    async with runtime.sessions() as session:
        await device_tokens.revoke(
            session, SYSTEM, fleet.region_meter.id, DeviceTokenScope.METER, runtime.device_tokens
        )
    # Revocation takes effect on the open connection at once, though the token was just checked and remembered.
    answer = await meter.call("meter-update", {"readings": [_reading("M-REG", timestamp="2024-05-01T13:00:00Z")]})
    assert answer == {"accepted": 0, "duplicates": 0, "rejected": [], "error": "invalid or revoked device token"}
    assert await refusal(connect, auth={"deviceToken": token}) == "invalid or revoked device token"
    assert await count_readings(runtime) == 1


async def test_users_cannot_submit_readings_and_meters_cannot_join_rooms(
    connect: ClientFactory, runtime: Runtime, user_token: UserTokenFactory, fleet: Fleet
) -> None:
    user = await connect(auth={"token": await user_token(Role.ADMIN)})
    answer = await user.call("meter-update", {"readings": [_reading("M-REG")]})
    assert answer == {"accepted": 0, "duplicates": 0, "rejected": [], "error": "meter-update needs a device token"}
    meter = await connect(auth={"deviceToken": await _device_token(runtime, fleet.region_meter.id)})
    assert await meter.join("all") == {"ok": False, "error": "only signed-in users join rooms", "room": None}


@pytest.mark.parametrize("event", ["connect", "no-such-event", "join_room"])
async def test_events_outside_the_catalogue_are_ignored(
    connect: ClientFactory, user_token: UserTokenFactory, fleet: Fleet, event: str
) -> None:
    client = await connect(auth={"token": await user_token(Role.CUSTOMER, customer_id=fleet.alice.id)})
    await client.sio.emit(event, {"token": "x"})
    # Still the same customer: `all` stays out of reach, and the connection works.
    assert not (await client.join("all"))["ok"]
