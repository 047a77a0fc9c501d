"""/api/stats/read-success over HTTP: per day, area and brand; staff only; bad dates, ranges and groupings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from httpx import AsyncClient

from hes.db.enums import Role
from hes.db.tables import Area, Customer, Meter
from hes.runtime import Runtime
from hes.services import communication_stats, users
from hes.services.communication_stats import AttemptOutcome
from tests.conftest import PASSWORD, UserFactory

DAY = datetime(2026, 1, 10, 8, tzinfo=UTC)


@pytest.fixture
async def fleet(runtime: Runtime) -> dict[str, int]:
    """Meters in areas WEST (and its sub-area WEST-1) and EAST with attempts on 10 and 11 January 2026."""
    async with runtime.sessions() as session:
        west = Area(code="WEST", name="West")
        east = Area(code="EAST", name="East")
        session.add_all([west, east])
        await session.flush()
        west_one = Area(code="WEST-1", name="West one", parent_id=west.id)
        session.add(west_one)
        await session.flush()
        meters = {
            "west": Meter(meter_number="ST-W", brand="Hexing", area_id=west.id),
            "west_one": Meter(meter_number="ST-W1", brand="Hexcell", area_id=west_one.id),
            "east": Meter(meter_number="ST-E", brand="Hexing", area_id=east.id),
        }
        session.add_all(meters.values())
        await session.commit()
        outcomes = [
            AttemptOutcome(meters["west"].id, DAY, ok=True, round_trip_ms=120),
            AttemptOutcome(meters["west"].id, DAY + timedelta(days=1), ok=True, round_trip_ms=130),
            AttemptOutcome(meters["west_one"].id, DAY, ok=False),
            AttemptOutcome(meters["west_one"].id, DAY + timedelta(days=1), ok=True, round_trip_ms=900),
            AttemptOutcome(meters["east"].id, DAY, ok=False),
            AttemptOutcome(meters["east"].id, DAY + timedelta(minutes=15), ok=False),
        ]
        await communication_stats.record_attempts(session, outcomes)
        return {name: meter.id for name, meter in meters.items()} | {"east_area": east.id}


RANGE = "from=2026-01-10&to=2026-01-11"


async def test_per_day(client: AsyncClient, viewer: dict[str, str], fleet: dict[str, int]) -> None:
    answer = await client.get(f"/api/stats/read-success?{RANGE}&groupBy=day", headers=viewer)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["from"], body["to"], body["groupBy"], body["area"]) == ("2026-01-10", "2026-01-11", "day", None)
    assert body["total"] == {"attempts": 6, "successes": 3, "successRate": 0.5}
    assert body["groups"] == [
        {"key": "2026-01-10", "label": "2026-01-10", "attempts": 4, "successes": 1, "successRate": 0.25},
        {"key": "2026-01-11", "label": "2026-01-11", "attempts": 2, "successes": 2, "successRate": 1.0},
    ]


async def test_per_area_with_sub_areas(client: AsyncClient, operator: dict[str, str], fleet: dict[str, int]) -> None:
    body = (await client.get(f"/api/stats/read-success?{RANGE}&groupBy=area", headers=operator)).json()
    assert [(group["key"], group["label"], group["attempts"], group["successes"]) for group in body["groups"]] == [
        ("EAST", "East", 2, 0),
        ("WEST", "West", 2, 2),
        ("WEST-1", "West one", 2, 1),
    ]
    west = (await client.get(f"/api/stats/read-success?{RANGE}&groupBy=area&area=west", headers=operator)).json()
    assert [group["key"] for group in west["groups"]] == ["WEST", "WEST-1"]
    assert (west["area"], west["total"]["attempts"], west["total"]["successRate"]) == ("west", 4, 0.75)


async def test_per_brand(client: AsyncClient, admin: dict[str, str], fleet: dict[str, int]) -> None:
    body = (await client.get(f"/api/stats/read-success?{RANGE}&groupBy=brand", headers=admin)).json()
    assert {group["key"]: group["successRate"] for group in body["groups"]} == {"hexing": 0.5, "hexcell": 0.5}


async def test_a_user_limited_to_areas_sees_only_those(
    client: AsyncClient, runtime: Runtime, fleet: dict[str, int]
) -> None:
    async with runtime.sessions() as session:
        limited = users.NewUser("east-viewer", PASSWORD, Role.VIEWER, area_ids=frozenset({fleet["east_area"]}))
        await users.create_user(session, "test", limited)
    login = await client.post("/api/auth/login", json={"username": "east-viewer", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {login.json()['accessToken']}"}
    body = (await client.get(f"/api/stats/read-success?{RANGE}&groupBy=area", headers=headers)).json()
    assert [group["key"] for group in body["groups"]] == ["EAST"]
    assert body["total"]["attempts"] == 2


async def test_meters_show_their_communication_health(
    client: AsyncClient, viewer: dict[str, str], fleet: dict[str, int]
) -> None:
    west_one = (await client.get(f"/api/meters/{fleet['west_one']}", headers=viewer)).json()
    assert west_one["lastSuccessAt"] == west_one["lastSeenAt"] == "2026-01-11T08:00:00Z"
    assert (west_one["consecutiveFailures"], west_one["lastRoundTripMs"]) == (0, 900)
    east = (await client.get(f"/api/meters/{fleet['east']}", headers=viewer)).json()
    assert (east["lastSuccessAt"], east["consecutiveFailures"], east["lastRoundTripMs"]) == (None, 2, None)


async def test_defaults_cover_the_last_week_up_to_today(client: AsyncClient, viewer: dict[str, str]) -> None:
    body = (await client.get("/api/stats/read-success", headers=viewer)).json()
    today = datetime.now(UTC).date()
    assert (body["from"], body["to"]) == ((today - timedelta(days=6)).isoformat(), today.isoformat())
    assert len(body["groups"]) == 7
    assert body["total"] == {"attempts": 0, "successes": 0, "successRate": None}


async def test_customers_may_not_read_fleet_statistics(
    client: AsyncClient, login_as: UserFactory, runtime: Runtime
) -> None:
    async with runtime.sessions() as session:
        account = Customer(account_number="ACC-STATS", customer_name="Curious")
        session.add(account)
        await session.commit()
    customer = await login_as(Role.CUSTOMER, customer_id=account.id)
    assert (await client.get("/api/stats/read-success", headers=customer)).status_code == 403
    assert (await client.get("/api/stats/read-success")).status_code == 401


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("from=2026-13-01", {"query.from"}),
        ("to=yesterday", {"query.to"}),
        ("from=2026-02-30&to=2026-03-01", {"query.from"}),
        ("groupBy=week", {"query.groupBy"}),
        ("groupBy=DAY", {"query.groupBy"}),
        ("from=2026-03-02&to=2026-03-01", {"from"}),
        ("from=2024-01-01&to=2026-01-01", {"from"}),
        ("from=2099-01-01", {"from"}),
        ("area=Atlantis", {"area"}),
        ("from=bad&groupBy=week", {"query.from", "query.groupBy"}),
    ],
)
async def test_bad_queries_are_422_naming_every_problem(
    client: AsyncClient, viewer: dict[str, str], query: str, fields: set[str]
) -> None:
    answer = await client.get(f"/api/stats/read-success?{query}", headers=viewer)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_input"
    assert {detail["field"] for detail in error["details"]} == fields
