"""Signing in on connect, joining rooms by role and area, and meter clients submitting readings, over websockets."""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from hes.config import Settings
from hes.db.enums import ReadingSource, Role
from hes.db.tables import DeviceToken, User
from hes.errors import HESError
from hes.obis.codes import ObisCode
from hes.runtime import Runtime
from tests.realtime.conftest import (
    ClientFactory,
    Fleet,
    LiveServer,
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


async def _device_token(runtime: Runtime, *, meter_id: int | None = None, concentrator: str | None = None) -> str:
    token = f"dev-{meter_id}-{concentrator}-secret"
    async with runtime.sessions() as session:
        session.add(
            DeviceToken(
                token_hash=hashlib.sha256(token.encode()).hexdigest(),
                meter_id=meter_id,
                concentrator_id=concentrator,
                created_by="test",
            )
        )
        await session.commit()
    return token


def _reading(meter_number: str, **overrides: object) -> dict[str, object]:
    reading: dict[str, object] = {
        "meterNumber": meter_number,
        "obis": "1-0:1.8.0.255",
        "timestamp": "2024-05-01T12:00:00Z",
        "value": 1234.5,
        "unit": "kWh",
    }
    reading.update(overrides)
    return reading


async def test_a_meter_client_submits_readings_through_ingest(
    connect: ClientFactory, live: LiveServer, runtime: Runtime, fleet: Fleet
) -> None:
    meter = await connect(auth={"deviceToken": await _device_token(runtime, meter_id=fleet.region_meter.id)})
    answer = await meter.call("meter-update", {"readings": [_reading("M-REG")]})
    assert answer == {"accepted": 1, "duplicates": 0, "rejected": [], "error": None}
    [reading] = live.ingested
    assert reading.meter_id == fleet.region_meter.id
    assert reading.obis == ObisCode.parse("1-0:1.8.0.255")
    assert reading.timestamp == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert (reading.value, reading.unit, reading.source) == (1234.5, "kWh", ReadingSource.SOCKETIO)


async def test_each_bad_reading_is_rejected_with_its_reason_and_the_rest_accepted(
    connect: ClientFactory, live: LiveServer, runtime: Runtime, fleet: Fleet
) -> None:
    meter = await connect(auth={"deviceToken": await _device_token(runtime, meter_id=fleet.region_meter.id)})
    readings = [
        _reading("M-REG"),
        _reading("M-ELS"),  # another meter: this token does not cover it
        _reading("NO-SUCH-METER"),
        _reading("M-REG", obis="energy"),
        _reading("M-REG", timestamp="2024-05-01T12:00:00"),
        _reading("M-REG", timestamp="yesterday"),
        _reading("M-REG", value=True),
        _reading("M-REG", value="12"),
        _reading("M-REG", value=math.nan),
        _reading("M-REG", unit=["kWh"]),
        "not an object",
        _reading("M-REG", timestamp="2024-05-01T12:15:00+01:00", value=-0.5),
    ]
    answer = await meter.call("meter-update", {"readings": readings})
    assert answer["accepted"] == 2
    assert answer["error"] is None
    reasons = {reject["index"]: reject["reason"] for reject in answer["rejected"]}
    assert sorted(reasons) == list(range(1, 11))
    assert "not covered by this device token" in reasons[1] and "not covered" in reasons[2]
    assert "not an OBIS code" in reasons[3]
    assert "offset" in reasons[4] and "ISO 8601" in reasons[5]
    assert all("finite number" in reasons[index] for index in (6, 7, 8))
    assert "unit" in reasons[9] and "object" in reasons[10]
    assert [reading.value for reading in live.ingested] == [1234.5, -0.5]
    assert not any(math.isnan(reading.value) for reading in live.ingested)


async def test_a_gateway_token_covers_its_concentrators_meters(
    connect: ClientFactory, live: LiveServer, runtime: Runtime, fleet: Fleet
) -> None:
    gateway = await connect(auth={"deviceToken": await _device_token(runtime, concentrator="DC-1")})
    answer = await gateway.call("meter-update", {"readings": [_reading("M-REG"), _reading("M-FDR"), _reading("M-ELS")]})
    assert (answer["accepted"], [reject["index"] for reject in answer["rejected"]]) == (2, [2])
    assert {reading.meter_id for reading in live.ingested} == {fleet.region_meter.id, fleet.feeder_meter.id}


async def test_a_malformed_update_is_refused_whole(
    connect: ClientFactory, live: LiveServer, runtime: Runtime, fleet: Fleet
) -> None:
    meter = await connect(auth={"deviceToken": await _device_token(runtime, meter_id=fleet.region_meter.id)})
    for payload in [None, [], "readings", {"readings": "all of them"}, {"readings": [_reading("M-REG")] * 5_001}]:
        answer = await meter.call("meter-update", payload)
        assert answer["accepted"] == 0 and answer["error"], payload
    assert live.ingested == []


async def test_the_ack_carries_what_ingest_refused_and_what_it_already_had(
    connect: ClientFactory, live: LiveServer, runtime: Runtime, fleet: Fleet
) -> None:
    meter = await connect(auth={"deviceToken": await _device_token(runtime, meter_id=fleet.region_meter.id)})
    early = _reading("M-REG", timestamp="2024-05-01T11:00:00Z")
    late = _reading("M-REG", timestamp="2099-01-01T00:00:00Z")
    assert (await meter.call("meter-update", {"readings": [early]}))["accepted"] == 1
    # Position 1 of the submission is the far-future reading (the bad item at 0 never reaches ingest).
    live.ingest_refuses = {1: "future_timestamp"}
    answer = await meter.call("meter-update", {"readings": ["bad", early, late, _reading("M-REG")]})
    assert answer == {
        "accepted": 1,
        "duplicates": 1,
        "rejected": [
            {"index": 0, "reason": answer["rejected"][0]["reason"]},
            {"index": 2, "reason": "future_timestamp"},
        ],
        "error": None,
    }


async def test_when_ingest_is_overloaded_the_meter_is_told_to_retry(
    connect: ClientFactory, live: LiveServer, runtime: Runtime, fleet: Fleet
) -> None:
    meter = await connect(auth={"deviceToken": await _device_token(runtime, meter_id=fleet.region_meter.id)})
    live.ingest_error = HESError("ingest is at capacity; retry shortly", code="overloaded")
    answer = await meter.call("meter-update", {"readings": [_reading("M-REG")]})
    assert answer == {"accepted": 0, "duplicates": 0, "rejected": [], "error": "ingest is at capacity; retry shortly"}


async def test_when_ingest_fails_the_meter_is_told_nothing_was_stored(
    connect: ClientFactory, live: LiveServer, runtime: Runtime, fleet: Fleet
) -> None:
    meter = await connect(auth={"deviceToken": await _device_token(runtime, meter_id=fleet.region_meter.id)})
    live.ingest_error = RuntimeError("database down")
    answer = await meter.call("meter-update", {"readings": [_reading("M-REG")]})
    assert answer == {"accepted": 0, "duplicates": 0, "rejected": [], "error": "not stored; retry later"}


async def test_unknown_and_revoked_device_tokens(
    connect: ClientFactory, live: LiveServer, runtime: Runtime, fleet: Fleet
) -> None:
    assert await refusal(connect, auth={"deviceToken": "guessed"}) == "invalid or revoked device token"
    assert await refusal(connect, auth={"deviceToken": 12}) == "missing device token"
    token = await _device_token(runtime, meter_id=fleet.region_meter.id)
    meter = await connect(auth={"deviceToken": token})
    async with runtime.sessions() as session:
        await session.execute(update(DeviceToken).values(revoked_at=datetime.now(UTC)))
        await session.commit()
    # Revocation takes effect on the open connection too.
    answer = await meter.call("meter-update", {"readings": [_reading("M-REG")]})
    assert answer == {"accepted": 0, "duplicates": 0, "rejected": [], "error": "invalid or revoked device token"}
    assert await refusal(connect, auth={"deviceToken": token}) == "invalid or revoked device token"
    assert live.ingested == []


async def test_users_cannot_submit_readings_and_meters_cannot_join_rooms(
    connect: ClientFactory, runtime: Runtime, user_token: UserTokenFactory, fleet: Fleet
) -> None:
    user = await connect(auth={"token": await user_token(Role.ADMIN)})
    answer = await user.call("meter-update", {"readings": [_reading("M-REG")]})
    assert answer == {"accepted": 0, "duplicates": 0, "rejected": [], "error": "meter-update needs a device token"}
    meter = await connect(auth={"deviceToken": await _device_token(runtime, meter_id=fleet.region_meter.id)})
    assert await meter.join("all") == {"ok": False, "error": "only signed-in users join rooms", "room": None}


@pytest.mark.parametrize("event", ["connect", "no-such-event", "join_room"])
async def test_events_outside_the_catalogue_are_ignored(
    connect: ClientFactory, user_token: UserTokenFactory, fleet: Fleet, event: str
) -> None:
    client = await connect(auth={"token": await user_token(Role.CUSTOMER, customer_id=fleet.alice.id)})
    await client.sio.emit(event, {"token": "x"})
    # Still the same customer: `all` stays out of reach, and the connection works.
    assert not (await client.join("all"))["ok"]
