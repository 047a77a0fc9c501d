"""/api/reports CSV downloads: consumption (same query as /api/consumption) and the online-rate report per area."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import AsyncClient, Response

from hes.api.routes import consumption, reports
from hes.config import Settings
from hes.db.enums import Role
from hes.db.tables import Area
from hes.runtime import Runtime
from tests.api.routes.consumption_fleet import Fleet, app_with, build_fleet, login_limited
from tests.conftest import UserFactory

TWO_DAYS = "from=2025-03-03T00:00:00Z&to=2025-03-05T00:00:00Z"


@pytest.fixture
async def app(settings: Settings, runtime: Runtime) -> AsyncIterator[FastAPI]:
    """The app with the report and consumption routers."""
    routers = (("export_online_rate", reports.router), ("get_consumption", consumption.router))
    async with app_with(settings, *routers) as application:
        yield application


@pytest.fixture
async def fleet(runtime: Runtime) -> Fleet:
    """The crafted fleet, rolled up."""
    return await build_fleet(runtime)


def _rows(answer: Response) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(answer.text.removeprefix("\ufeff"))))


async def test_online_rate_per_area_with_a_total(client: AsyncClient, viewer: dict[str, str], fleet: Fleet) -> None:
    answer = await client.get("/api/reports/online-rate.csv", headers=viewer)
    assert 'filename="online-rate-' in answer.headers["content-disposition"]
    rows = _rows(answer)
    assert [tuple(row.values()) for row in rows] == [
        ("EAST", "East", "", "2", "1", "1", "0", "0.5"),
        ("REGION", "Region", "", "1", "0", "1", "0", "1.0"),  # RG-STOCK is stock, not in service
        ("REGION-1", "Region one", "REGION", "1", "0", "0", "1", "0.0"),
        ("TOTAL", "", "", "4", "1", "2", "1", "0.5"),
    ]
    assert list(rows[0]) == [
        "areaCode",
        "areaName",
        "parentAreaCode",
        "metersInService",
        "neverOnline",
        "onlineNow",
        "offline",
        "onlineRate",
    ]


async def test_online_rate_of_one_area_and_within_area_limits(
    client: AsyncClient, runtime: Runtime, viewer: dict[str, str], fleet: Fleet
) -> None:
    rows = _rows(await client.get("/api/reports/online-rate.csv?area=Region", headers=viewer))
    assert [row["areaCode"] for row in rows] == ["REGION", "REGION-1", "TOTAL"]
    assert rows[-1]["onlineRate"] == "0.5"
    limited = await login_limited(client, runtime, Role.VIEWER, frozenset({fleet.east}))
    rows = _rows(await client.get("/api/reports/online-rate.csv", headers=limited))
    assert [row["areaCode"] for row in rows] == ["EAST", "TOTAL"]
    assert (await client.get("/api/reports/online-rate.csv?area=REGION", headers=limited)).status_code == 404


async def test_area_names_cannot_inject_formulas(client: AsyncClient, runtime: Runtime, admin: dict[str, str]) -> None:
    async with runtime.sessions() as session:
        session.add(Area(code="F1", name='=HYPERLINK("http://x")'))
        await session.commit()
    rows = _rows(await client.get("/api/reports/online-rate.csv", headers=admin))
    assert rows[0]["areaName"] == '\'=HYPERLINK("http://x")'
    assert rows[0]["metersInService"] == "0" and rows[0]["onlineRate"] == ""


async def test_consumption_csv_matches_the_json_series(
    client: AsyncClient, viewer: dict[str, str], fleet: Fleet
) -> None:
    query = f"area=REGION&{TWO_DAYS}&interval=daily"
    answer = await client.get(f"/api/reports/consumption.csv?{query}", headers=viewer)
    assert 'filename="consumption-' in answer.headers["content-disposition"]
    rows = _rows(answer)
    assert [tuple(row.values()) for row in rows] == [
        ("", "REGION", "daily", "2025-03-03T00:00:00Z", "72.0", "0.96", "true", "0", "0"),
        ("", "REGION", "daily", "2025-03-04T00:00:00Z", "72.0", "0.96", "false", "0", "0"),
    ]
    series = (await client.get(f"/api/consumption?{query}", headers=viewer)).json()
    assert [float(row["importKwh"]) for row in rows] == [point["importKwh"] for point in series["points"]]


async def test_consumption_csv_of_a_meter_leaves_gaps_empty(
    client: AsyncClient, viewer: dict[str, str], fleet: Fleet
) -> None:
    query = f"meterId={fleet.rg2}&from=2025-03-04T05:00:00Z&to=2025-03-04T06:00:00Z&interval=hourly"
    rows = _rows(await client.get(f"/api/reports/consumption.csv?{query}", headers=viewer))
    assert [tuple(row.values()) for row in rows] == [
        ("RG-2", "REGION-1", "hourly", "2025-03-04T05:00:00Z", "", "", "false", "0", "0")
    ]


async def test_bad_input_and_access(
    client: AsyncClient, login_as: UserFactory, viewer: dict[str, str], fleet: Fleet
) -> None:
    bad = await client.get(
        "/api/reports/consumption.csv?area=REGION&from=2025-03-05T00:00:00Z&to=2025-03-03T00:00:00Z", headers=viewer
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/json")
    assert (await client.get("/api/reports/consumption.csv?area=NOWHERE", headers=viewer)).status_code == 404
    assert (await client.get("/api/reports/online-rate.csv?area=NOWHERE", headers=viewer)).status_code == 404
    customer = await login_as(Role.CUSTOMER, customer_id=fleet.customer)
    assert (await client.get("/api/reports/online-rate.csv", headers=customer)).status_code == 403
    own = await client.get(f"/api/reports/consumption.csv?meterId={fleet.rg1}&{TWO_DAYS}", headers=customer)
    assert [row["importKwh"] for row in _rows(own)] == ["24.0", "24.0"]
    assert (await client.get("/api/reports/online-rate.csv")).status_code == 401
