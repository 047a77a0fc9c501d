"""Readings over HTTP: newest first, paginated, filtered by OBIS code and time; bad queries; other customers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from httpx import AsyncClient

from hes.db.enums import ReadingQuality, ReadingSource, Role
from hes.db.store import obis_codes
from hes.db.store.obis_codes import ObisDescription
from hes.db.store.readings import ReadingRow, write_readings
from hes.db.tables import Customer, Meter
from hes.obis import ObisCode
from hes.runtime import Runtime
from tests.conftest import UserFactory

ENERGY = ObisCode.parse("1-0:1.8.0.255")
VOLTAGE = ObisCode.parse("1-0:32.7.0.255")
START = datetime(2024, 5, 1, tzinfo=UTC)


async def _customer_with_meter(runtime: Runtime, tag: str) -> tuple[int, int]:
    """A customer and one meter of theirs; returns (customer id, meter id)."""
    async with runtime.sessions() as session:
        customer = Customer(account_number=f"ACC-{tag}", customer_name=f"Customer {tag}")
        session.add(customer)
        await session.flush()
        meter = Meter(meter_number=f"MTR-{tag}", customer_id=customer.id)
        session.add(meter)
        await session.commit()
        return customer.id, meter.id


async def _store(runtime: Runtime, meter_id: int, code: ObisCode, count: int, **flags: object) -> None:
    """`count` quarter-hourly readings of `code` from START; values rise by 0.5 each."""
    async with runtime.sessions() as session:
        ids = await obis_codes.get_or_create_ids(
            session,
            [ENERGY, VOLTAGE],
            {ENERGY: ObisDescription("Active energy import", "kWh"), VOLTAGE: ObisDescription("Voltage L1", "V")},
        )
        rows = [
            ReadingRow(meter_id, ids[code], START + timedelta(minutes=15 * step), 100.0 + step / 2, **flags)  # type: ignore[arg-type]
            for step in range(count)
        ]
        await write_readings(session, rows)
        await session.commit()


@pytest.fixture
async def meter_id(runtime: Runtime) -> int:
    """A meter with 10 energy and 4 voltage readings."""
    _, meter = await _customer_with_meter(runtime, "A")
    await _store(runtime, meter, ENERGY, 10)
    await _store(runtime, meter, VOLTAGE, 4, quality=ReadingQuality.ESTIMATED, source=ReadingSource.MQTT)
    return meter


async def test_readings_come_newest_first_one_page_at_a_time(
    client: AsyncClient, viewer: dict[str, str], meter_id: int
) -> None:
    first = (await client.get(f"/api/meters/{meter_id}/readings?limit=5", headers=viewer)).json()
    assert (first["total"], first["page"], first["limit"], len(first["items"])) == (14, 1, 5, 5)
    newest = first["items"][0]
    assert newest == {
        "obis": "1-0:1.8.0.255",
        "timestamp": "2024-05-01T02:15:00Z",
        "value": 104.5,
        "unit": "kWh",
        "quality": "good",
        "source": "dlms_poll",
    }
    # 00:45 has both codes: ties on time go by code id (energy was created first).
    last = (await client.get(f"/api/meters/{meter_id}/readings?limit=5&page=3", headers=viewer)).json()
    assert [(item["timestamp"][11:16], item["obis"]) for item in last["items"]] == [
        ("00:15", "1-0:1.8.0.255"),
        ("00:15", "1-0:32.7.0.255"),
        ("00:00", "1-0:1.8.0.255"),
        ("00:00", "1-0:32.7.0.255"),
    ]
    times = [
        datetime.fromisoformat(item["timestamp"])
        for page in (1, 2, 3)
        for item in (await client.get(f"/api/meters/{meter_id}/readings?limit=5&page={page}", headers=viewer)).json()[
            "items"
        ]
    ]
    assert times == sorted(times, reverse=True) and len(times) == 14
    beyond = (await client.get(f"/api/meters/{meter_id}/readings?limit=5&page=4", headers=viewer)).json()
    assert beyond["items"] == [] and beyond["total"] == 14


@pytest.mark.parametrize("spelling", ["1-0:32.7.0.255", "1.0.32.7.0.255", "1-0:32.7.0*255"])
async def test_filter_by_obis_code_in_any_spelling(
    client: AsyncClient, viewer: dict[str, str], meter_id: int, spelling: str
) -> None:
    answer = await client.get(f"/api/meters/{meter_id}/readings", params={"obis": spelling}, headers=viewer)
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert len(items) == 4
    assert {(item["obis"], item["unit"], item["quality"], item["source"]) for item in items} == {
        ("1-0:32.7.0.255", "V", "estimated", "mqtt")
    }


async def test_filter_by_time_range_with_both_ends_included_in_any_offset(
    client: AsyncClient, viewer: dict[str, str], meter_id: int
) -> None:
    params = {"obis": "1-0:1.8.0.255", "from": "2024-05-01T01:30:00+01:00", "to": "2024-05-01T01:00:00Z"}
    answer = await client.get(f"/api/meters/{meter_id}/readings", params=params, headers=viewer)
    assert answer.status_code == 200, answer.text
    assert [item["timestamp"] for item in answer.json()["items"]] == [
        "2024-05-01T01:00:00Z",
        "2024-05-01T00:45:00Z",
        "2024-05-01T00:30:00Z",
    ]
    # An unescaped "+" in a URL arrives as a space; the offset is still understood.
    raw = await client.get(
        f"/api/meters/{meter_id}/readings?obis=1-0:1.8.0.255&from=2024-05-01T03:00:00+01:00", headers=viewer
    )
    assert raw.status_code == 200, raw.text
    assert raw.json()["total"] == 2  # 02:00 and 02:15 UTC; read as 03:00 UTC it would be none


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("from=2024-05-01T00:00:00", {"query.from"}),
        ("to=2024-05-01", {"query.to"}),
        ("from=yesterday", {"query.from"}),
        ("obis=1-0:1.8.0", {"query.obis"}),
        ("obis=1-0:1.8.0.999", {"query.obis"}),
        (
            "obis=energy&from=2024-05-01T00:00:00&page=0&limit=501",
            {"query.obis", "query.from", "query.page", "query.limit"},
        ),
        ("from=2024-05-02T00:00:00Z&to=2024-05-01T00:00:00Z", {"from"}),
        ("obis=1-0:99.99.99.255", {"obis"}),  # well-formed, but no reading is ever stored under it
    ],
)
async def test_bad_queries_are_refused_listing_every_problem(
    client: AsyncClient, viewer: dict[str, str], meter_id: int, query: str, fields: set[str]
) -> None:
    answer = await client.get(f"/api/meters/{meter_id}/readings?{query}", headers=viewer)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_input"
    assert {problem["field"] for problem in error["details"]} == fields


async def test_latest_gives_one_reading_per_code(client: AsyncClient, viewer: dict[str, str], meter_id: int) -> None:
    answer = await client.get(f"/api/meters/{meter_id}/readings/latest", headers=viewer)
    assert answer.status_code == 200, answer.text
    assert [(item["obis"], item["timestamp"], item["value"], item["unit"]) for item in answer.json()] == [
        ("1-0:1.8.0.255", "2024-05-01T02:15:00Z", 104.5, "kWh"),
        ("1-0:32.7.0.255", "2024-05-01T00:45:00Z", 101.5, "V"),
    ]


async def test_a_meter_without_readings_answers_empty(
    client: AsyncClient, operator: dict[str, str], runtime: Runtime
) -> None:
    _, quiet = await _customer_with_meter(runtime, "QUIET")
    listing = (await client.get(f"/api/meters/{quiet}/readings", headers=operator)).json()
    assert (listing["items"], listing["total"]) == ([], 0)
    assert (await client.get(f"/api/meters/{quiet}/readings/latest", headers=operator)).json() == []


async def test_customers_see_their_own_meter_and_nobody_elses(
    client: AsyncClient, login_as: UserFactory, runtime: Runtime, meter_id: int
) -> None:
    own_customer, own_meter = await _customer_with_meter(runtime, "B")
    await _store(runtime, own_meter, ENERGY, 2)
    customer = await login_as(Role.CUSTOMER, customer_id=own_customer)

    mine = await client.get(f"/api/meters/{own_meter}/readings", headers=customer)
    assert mine.status_code == 200 and mine.json()["total"] == 2
    assert (await client.get(f"/api/meters/{own_meter}/readings/latest", headers=customer)).status_code == 200

    for path in (f"/api/meters/{meter_id}/readings", f"/api/meters/{meter_id}/readings/latest"):
        theirs = await client.get(path, headers=customer)
        assert theirs.status_code == 404, theirs.text
        assert theirs.json()["error"]["code"] == "not_found"


async def test_unknown_meters_and_anonymous_callers_are_refused(
    client: AsyncClient, admin: dict[str, str], meter_id: int
) -> None:
    assert (await client.get("/api/meters/999999/readings", headers=admin)).status_code == 404
    assert (await client.get("/api/meters/999999/readings/latest", headers=admin)).status_code == 404
    assert (await client.get("/api/meters/not-a-number/readings", headers=admin)).status_code == 422
    assert (await client.get(f"/api/meters/{meter_id}/readings")).status_code == 401
