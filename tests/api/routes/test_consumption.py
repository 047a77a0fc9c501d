"""/api/consumption over HTTP: per meter and per area, each interval, gaps and completeness, access, bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from hes.api.routes import consumption
from hes.config import Settings
from hes.db.enums import Role
from hes.runtime import Runtime
from tests.api.routes.consumption_fleet import Fleet, app_with, build_fleet, login_limited
from tests.conftest import UserFactory

TWO_DAYS = "from=2025-03-03T00:00:00Z&to=2025-03-05T00:00:00Z"


@pytest.fixture
async def app(settings: Settings, runtime: Runtime) -> AsyncIterator[FastAPI]:
    """The app with the consumption router."""
    async with app_with(settings, ("get_consumption", consumption.router)) as application:
        yield application


@pytest.fixture
async def fleet(runtime: Runtime) -> Fleet:
    """The crafted fleet, rolled up."""
    return await build_fleet(runtime)


async def _series(client: AsyncClient, headers: dict[str, str], query: str) -> dict[str, Any]:
    answer = await client.get(f"/api/consumption?{query}", headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _figures(body: dict[str, Any]) -> list[tuple[str, float | None, float | None, bool]]:
    return [(p["start"], p["importKwh"], p["exportKwh"], p["complete"]) for p in body["points"]]


async def test_daily_per_meter(client: AsyncClient, viewer: dict[str, str], fleet: Fleet) -> None:
    body = await _series(client, viewer, f"meterId={fleet.rg1}&{TWO_DAYS}&interval=daily")
    assert (body["meterId"], body["meterNumber"], body["area"], body["interval"], body["unit"]) == (
        fleet.rg1,
        "RG-1",
        "REGION",
        "daily",
        "kWh",
    )
    assert (body["from"], body["to"]) == ("2025-03-03T00:00:00Z", "2025-03-05T00:00:00Z")
    assert _figures(body) == [
        ("2025-03-03T00:00:00Z", 24.0, 0.96, True),
        ("2025-03-04T00:00:00Z", 24.0, 0.96, True),
    ]


async def test_hourly_marks_the_gap_and_never_fills_it(
    client: AsyncClient, viewer: dict[str, str], fleet: Fleet
) -> None:
    query = f"meterId={fleet.rg2}&from=2025-03-04T04:00:00Z&to=2025-03-04T08:00:00Z&interval=hourly"
    body = await _series(client, viewer, query)
    assert _figures(body) == [
        ("2025-03-04T04:00:00Z", 2.0, None, True),
        ("2025-03-04T05:00:00Z", None, None, False),  # nothing closed this hour
        ("2025-03-04T06:00:00Z", 4.0, None, False),  # spans the gap: exact total, not this hour alone
        ("2025-03-04T07:00:00Z", 2.0, None, True),
    ]


async def test_area_sums_sub_areas_and_one_gap_makes_the_day_incomplete(
    client: AsyncClient, viewer: dict[str, str], fleet: Fleet
) -> None:
    body = await _series(client, viewer, f"area=REGION&{TWO_DAYS}&interval=daily")
    assert (body["meterId"], body["area"]) == (None, "REGION")
    assert _figures(body) == [
        ("2025-03-03T00:00:00Z", 72.0, 0.96, True),  # RG-1 24 + RG-2 48; RG-STOCK is not in service
        ("2025-03-04T00:00:00Z", 72.0, 0.96, False),  # RG-2's missing hour
    ]


async def test_a_silent_meter_in_service_makes_its_area_incomplete(
    client: AsyncClient, viewer: dict[str, str], fleet: Fleet
) -> None:
    body = await _series(client, viewer, f"area=east&{TWO_DAYS}&interval=daily")  # code, any case
    assert _figures(body) == [
        ("2025-03-03T00:00:00Z", 9.6, None, False),
        ("2025-03-04T00:00:00Z", 9.6, None, False),
    ]


async def test_weekly_and_monthly_buckets_are_whole_and_incomplete_beyond_the_data(
    client: AsyncClient, viewer: dict[str, str], fleet: Fleet
) -> None:
    weekly = await _series(
        client, viewer, f"meterId={fleet.rg1}&from=2025-03-04T10:00:00Z&to=2025-03-05T00:00:00Z&interval=weekly"
    )
    assert (weekly["from"], weekly["to"]) == ("2025-03-03T00:00:00Z", "2025-03-10T00:00:00Z")
    assert _figures(weekly) == [("2025-03-03T00:00:00Z", 48.0, 1.92, False)]
    monthly = await _series(
        client, viewer, f"meterId={fleet.rg1}&from=2025-02-10T00:00:00Z&to=2025-03-31T00:00:00Z&interval=monthly"
    )
    assert _figures(monthly) == [
        ("2025-02-01T00:00:00Z", None, None, False),
        ("2025-03-01T00:00:00Z", 48.0, 1.92, False),
    ]


async def test_hourly_area_figures_add_up(client: AsyncClient, viewer: dict[str, str], fleet: Fleet) -> None:
    body = await _series(
        client, viewer, "area=REGION&from=2025-03-03T10:00:00Z&to=2025-03-03T12:00:00Z&interval=hourly"
    )
    assert _figures(body) == [("2025-03-03T10:00:00Z", 3.0, 0.04, True), ("2025-03-03T11:00:00Z", 3.0, 0.04, True)]


async def test_a_customer_sees_only_their_own_meters(client: AsyncClient, login_as: UserFactory, fleet: Fleet) -> None:
    customer = await login_as(Role.CUSTOMER, customer_id=fleet.customer)
    assert (await client.get(f"/api/consumption?meterId={fleet.rg1}&{TWO_DAYS}", headers=customer)).status_code == 200
    assert (await client.get(f"/api/consumption?meterId={fleet.ea1}&{TWO_DAYS}", headers=customer)).status_code == 404
    assert (await client.get(f"/api/consumption?area=REGION&{TWO_DAYS}", headers=customer)).status_code == 403


async def test_area_limits_apply(client: AsyncClient, runtime: Runtime, fleet: Fleet) -> None:
    limited = await login_limited(client, runtime, Role.VIEWER, frozenset({fleet.region_one}))
    assert (await client.get(f"/api/consumption?area=REGION&{TWO_DAYS}", headers=limited)).status_code == 404
    assert (await client.get(f"/api/consumption?meterId={fleet.rg1}&{TWO_DAYS}", headers=limited)).status_code == 404
    body = await _series(client, limited, f"area=REGION-1&{TWO_DAYS}")
    assert [point["importKwh"] for point in body["points"]] == [48.0, 48.0]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("area=REGION&from=2025-03-05T00:00:00Z&to=2025-03-03T00:00:00Z", "from"),
        ("area=REGION&from=2025-03-03T00:00:00Z&to=2025-03-03T00:00:00Z", "from"),
        ("area=REGION&from=2025-01-01T00:00:00Z&to=2025-03-01T00:00:00Z&interval=hourly", "from"),
        ("area=REGION&meterId=1", "meterId"),
        ("", "meterId"),
        ("area=REGION&interval=yearly", "query.interval"),
        ("area=REGION&from=2025-03-03T00:00:00", "query.from"),
        ("meterId=0", "query.meterId"),
    ],
)
async def test_bad_queries_are_refused_with_the_field_at_fault(
    client: AsyncClient, viewer: dict[str, str], fleet: Fleet, query: str, field: str
) -> None:
    answer = await client.get(f"/api/consumption?{query}", headers=viewer)
    assert answer.status_code == 422, answer.text
    assert field in [problem.get("field") for problem in answer.json()["error"]["details"]]


async def test_unknown_meter_or_area_is_not_found(client: AsyncClient, viewer: dict[str, str], fleet: Fleet) -> None:
    assert (await client.get("/api/consumption?meterId=999999", headers=viewer)).status_code == 404
    assert (await client.get("/api/consumption?area=NOWHERE", headers=viewer)).status_code == 404


async def test_sign_in_is_required(client: AsyncClient, fleet: Fleet) -> None:
    assert (await client.get(f"/api/consumption?area=REGION&{TWO_DAYS}")).status_code == 401
