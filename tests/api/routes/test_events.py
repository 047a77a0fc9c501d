"""The event log over HTTP: filters, sort, pagination, area and customer visibility, CSV download, bad input."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient

from hes.db.enums import EventCategory, Role, Severity
from hes.db.store import events as event_store
from hes.db.store import users as user_store
from hes.db.tables import Area, Customer, Meter
from hes.ingest.records import IncomingEvent
from hes.runtime import Runtime
from tests.conftest import UserFactory

START = datetime(2024, 5, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Fleet:
    """Areas REGION > FEEDER and SOUTH; a meter in each; customers ADA and BOB own the feeder and south meters."""

    region: int
    south: int
    meters: dict[str, int]
    customers: dict[str, int]


async def make_fleet(runtime: Runtime) -> Fleet:
    """The shared test fleet (also used by the alert tests)."""
    async with runtime.sessions() as session:
        region = Area(code="REGION", name="Region")
        south = Area(code="SOUTH", name="South")
        session.add_all([region, south])
        await session.flush()
        feeder = Area(code="FEEDER", name="Feeder 7", parent_id=region.id)
        owners = {name: Customer(account_number=f"ACC-{name}", customer_name=name) for name in ("ADA", "BOB", "CAL")}
        session.add_all([feeder, *owners.values()])
        await session.flush()
        meters = {
            "M-R": Meter(meter_number="M-R", area_id=region.id),
            "M-F": Meter(meter_number="M-F", area_id=feeder.id, customer_id=owners["ADA"].id),
            "M-S": Meter(meter_number="M-S", area_id=south.id, customer_id=owners["BOB"].id),
        }
        session.add_all(meters.values())
        await session.commit()
        return Fleet(
            region.id,
            south.id,
            {name: meter.id for name, meter in meters.items()},
            {name: owner.id for name, owner in owners.items()},
        )


async def _log(runtime: Runtime, *events: IncomingEvent) -> list[int]:
    async with runtime.sessions() as session:
        ids = await event_store.insert_events(session, events)
        await session.commit()
    return ids


@pytest.fixture
async def fleet(runtime: Runtime) -> Fleet:
    fleet = await make_fleet(runtime)
    m = fleet.meters
    tamper, power, comms = EventCategory.TAMPER, EventCategory.POWER, EventCategory.COMMUNICATION
    await _log(
        runtime,
        IncomingEvent(m["M-R"], "cover_opened", START, tamper, Severity.CRITICAL, code=44, details={"by": "=cmd()"}),
        IncomingEvent(m["M-F"], "power_failure", START + timedelta(hours=1), power, Severity.ERROR, code=1),
        IncomingEvent(m["M-S"], "communication_lost", START + timedelta(hours=2), comms, Severity.WARNING),
        IncomingEvent(m["M-R"], "power_restored", START + timedelta(hours=3), power, Severity.INFO, code=2),
    )
    return fleet


async def _items(client: AsyncClient, headers: dict[str, str], query: str = "") -> list[dict[str, Any]]:
    answer = await client.get(f"/api/events?{query}", headers=headers)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


async def _types(client: AsyncClient, headers: dict[str, str], query: str = "") -> list[str]:
    return [item["eventType"] for item in await _items(client, headers, query)]


async def test_events_come_newest_first_one_page_at_a_time(
    client: AsyncClient, viewer: dict[str, str], fleet: Fleet
) -> None:
    first = (await client.get("/api/events?limit=3", headers=viewer)).json()
    assert (first["total"], first["page"], first["limit"]) == (4, 1, 3)
    assert [item["eventType"] for item in first["items"]] == ["power_restored", "communication_lost", "power_failure"]
    assert first["items"][0] == {
        "id": first["items"][0]["id"],
        "meterId": fleet.meters["M-R"],
        "meterNumber": "M-R",
        "areaCode": "REGION",
        "eventType": "power_restored",
        "code": 2,
        "severity": "info",
        "category": "power",
        "occurredAt": "2024-05-01T03:00:00Z",
        "receivedAt": first["items"][0]["receivedAt"],
        "details": {},
    }
    second = (await client.get("/api/events?limit=3&page=2", headers=viewer)).json()
    assert [item["eventType"] for item in second["items"]] == ["cover_opened"]
    one = await client.get(f"/api/events/{second['items'][0]['id']}", headers=viewer)
    assert one.status_code == 200 and one.json()["details"] == {"by": "=cmd()"}


async def test_filters_narrow_the_list(client: AsyncClient, operator: dict[str, str], fleet: Fleet) -> None:
    assert await _types(client, operator, f"meterId={fleet.meters['M-R']}") == ["power_restored", "cover_opened"]
    assert await _types(client, operator, "meterNumber=m-s") == ["communication_lost"]
    # An area takes its sub-areas along.
    assert await _types(client, operator, "area=REGION") == ["power_restored", "power_failure", "cover_opened"]
    assert await _types(client, operator, "area=Feeder 7") == ["power_failure"]
    assert await _types(client, operator, "category=tamper&category=communication") == [
        "communication_lost",
        "cover_opened",
    ]
    assert await _types(client, operator, "severity=error&severity=critical") == ["power_failure", "cover_opened"]
    assert await _types(client, operator, "type=power_failure") == ["power_failure"]
    window = {"from": "2024-05-01T02:00:00+01:00", "to": "2024-05-01T02:00:00Z"}  # 01:00 to 02:00 UTC
    answer = await client.get("/api/events", params=window, headers=operator)
    assert [item["eventType"] for item in answer.json()["items"]] == ["communication_lost", "power_failure"]
    assert await _types(client, operator, "meterId=999999") == []


async def test_sorting_by_severity_puts_critical_first(
    client: AsyncClient, operator: dict[str, str], fleet: Fleet
) -> None:
    assert await _types(client, operator, "sort=-severity") == [
        "cover_opened",
        "power_failure",
        "communication_lost",
        "power_restored",
    ]
    assert await _types(client, operator, "sort=meterNumber,occurredAt") == [
        "power_failure",
        "cover_opened",
        "power_restored",
        "communication_lost",
    ]


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("from=2024-05-01T00:00:00", {"query.from"}),
        ("to=yesterday", {"query.to"}),
        ("category=theft", {"query.category.0"}),
        ("severity=loud&category=power&category=x", {"query.severity.0", "query.category.1"}),
        ("meterId=abc", {"query.meterId"}),
        ("meterId=0&meterNumber=" + "9" * 33, {"query.meterId", "query.meterNumber"}),
        ("meterId=99999999999", {"query.meterId"}),
        ("type=" + "x" * 61, {"query.type"}),
        ("from=2024-05-02T00:00:00Z&to=2024-05-01T00:00:00Z", {"from"}),
        ("area=NOWHERE", {"area"}),
        ("sort=-loudness", {"sort"}),
    ],
)
async def test_malformed_filters_are_refused_listing_every_problem(
    client: AsyncClient, viewer: dict[str, str], fleet: Fleet, query: str, fields: set[str]
) -> None:
    for path in ("/api/events", "/api/events.csv"):
        answer = await client.get(f"{path}?{query}", headers=viewer)
        assert answer.status_code == 422, (path, answer.text)
        error = answer.json()["error"]
        assert error["code"] == "invalid_input"
        assert {problem["field"] for problem in error["details"]} == fields


async def test_area_limited_staff_see_only_their_areas(
    client: AsyncClient, login_as: UserFactory, runtime: Runtime, fleet: Fleet
) -> None:
    await _log(runtime, IncomingEvent(None, "hes_started", START, EventCategory.TECHNICAL))  # type: ignore[arg-type]
    limited = await login_as(Role.OPERATOR, username="south-only")
    async with runtime.sessions() as session:
        user = await user_store.by_username(session, "south-only")
        assert user is not None
        await user_store.set_area_ids(session, user.id, [fleet.south])
        await session.commit()
    assert await _types(client, limited) == ["communication_lost"]
    assert await _types(client, limited, "area=REGION") == []
    everything = await _items(client, await login_as(Role.ADMIN))
    assert len(everything) == 5, "the meter-less event is there for those who see every area"
    cover = next(item for item in everything if item["eventType"] == "cover_opened")
    assert (await client.get(f"/api/events/{cover['id']}", headers=limited)).status_code == 404


async def test_customers_see_their_own_meters_events_only(
    client: AsyncClient, login_as: UserFactory, fleet: Fleet
) -> None:
    ada = await login_as(Role.CUSTOMER, customer_id=fleet.customers["ADA"])
    assert await _types(client, ada) == ["power_failure"]
    assert await _types(client, ada, f"meterId={fleet.meters['M-S']}") == []
    others = await _items(client, await login_as(Role.VIEWER), "meterNumber=M-S")
    assert (await client.get(f"/api/events/{others[0]['id']}", headers=ada)).status_code == 404
    csv_rows = _csv((await client.get("/api/events.csv", headers=ada)).text)
    assert [row["eventType"] for row in csv_rows] == ["power_failure"]
    without_meters = await login_as(Role.CUSTOMER, customer_id=fleet.customers["CAL"])
    assert await _types(client, without_meters) == []


def _csv(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


async def test_csv_download_holds_the_filtered_list(client: AsyncClient, viewer: dict[str, str], fleet: Fleet) -> None:
    answer = await client.get("/api/events.csv?area=REGION", headers=viewer)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"].startswith('attachment; filename="events-')
    assert answer.text.splitlines()[0] == (
        "\ufeffid,occurredAt,receivedAt,meterNumber,areaCode,eventType,code,category,severity,details"
    )
    rows = _csv(answer.text)
    assert [(row["eventType"], row["meterNumber"], row["occurredAt"]) for row in rows] == [
        ("power_restored", "M-R", "2024-05-01T03:00:00Z"),
        ("power_failure", "M-F", "2024-05-01T01:00:00Z"),
        ("cover_opened", "M-R", "2024-05-01T00:00:00Z"),
    ]
    assert rows[1]["code"] == "1" and rows[0]["details"] == ""
    assert rows[2]["details"] == '{"by": "=cmd()"}'


async def test_csv_cells_that_a_spreadsheet_would_run_are_defused(
    client: AsyncClient, viewer: dict[str, str], runtime: Runtime, fleet: Fleet
) -> None:
    await _log(runtime, IncomingEvent(fleet.meters["M-S"], "=HYPERLINK(1)", START, EventCategory.TECHNICAL))
    rows = _csv((await client.get("/api/events.csv?meterNumber=M-S", headers=viewer)).text)
    assert [row["eventType"] for row in rows] == ["communication_lost", "'=HYPERLINK(1)"]


async def test_a_large_download_streams_every_row(
    client: AsyncClient, viewer: dict[str, str], runtime: Runtime, fleet: Fleet
) -> None:
    meter = fleet.meters["M-S"]
    many = [
        IncomingEvent(meter, "voltage_normal", START - timedelta(minutes=index), EventCategory.POWER)
        for index in range(2_500)
    ]
    await _log(runtime, *many)
    rows = _csv((await client.get("/api/events.csv?type=voltage_normal", headers=viewer)).text)
    assert len(rows) == 2_500 and len({row["id"] for row in rows}) == 2_500
    assert rows[0]["occurredAt"] == "2024-05-01T00:00:00Z"


async def test_unknown_events_and_anonymous_callers_are_refused(
    client: AsyncClient, viewer: dict[str, str], fleet: Fleet
) -> None:
    missing = await client.get("/api/events/999999", headers=viewer)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert (await client.get("/api/events/0", headers=viewer)).status_code == 422
    assert (await client.get("/api/events/nine", headers=viewer)).status_code == 422
    assert (await client.get("/api/events")).status_code == 401
    assert (await client.get("/api/events.csv")).status_code == 401
