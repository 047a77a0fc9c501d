"""Meters over HTTP: CRUD, links and history, decommissioning, lists, write-only secrets, roles, bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select

from hes.db.enums import Role
from hes.db.store import users as user_store
from hes.db.tables import AuditEntry, Meter, MeterAssignment, Reading
from hes.runtime import Runtime
from tests.conftest import UserFactory

AUTH_KEY = "000102030405060708090A0B0C0D0E0F"
CIPHER_KEY = "F0E1D2C3B4A5968778695A4B3C2D1E0F"
PASSWORD = "Lls-Secret-42"


async def _post(client: AsyncClient, headers: dict[str, str], path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await client.post(path, json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def _area(client: AsyncClient, headers: dict[str, str], code: str, parent: int | None = None) -> int:
    body = {"code": code, "name": f"Area {code}", "parentId": parent}
    return int((await _post(client, headers, "/api/areas", body))["id"])


async def _customer(client: AsyncClient, headers: dict[str, str], account: str, **fields: Any) -> int:
    body = {"accountNumber": account, "customerName": f"Customer {account}", **fields}
    return int((await _post(client, headers, "/api/customers", body))["id"])


async def _sim(client: AsyncClient, headers: dict[str, str], number: str, iccid: str) -> int:
    return int((await _post(client, headers, "/api/sims", {"simNumber": number, "iccid": iccid}))["id"])


async def _meter(client: AsyncClient, headers: dict[str, str], number: str, **fields: Any) -> dict[str, Any]:
    return await _post(client, headers, "/api/meters", {"meterNumber": number, **fields})


async def _count(runtime: Runtime, table: type[Any]) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def test_operator_creates_reads_updates_and_deletes_a_meter(
    client: AsyncClient, operator: dict[str, str], runtime: Runtime
) -> None:
    area = await _area(client, operator, "NORTH")
    customer = await _customer(client, operator, "ACC-1", areaId=area)
    sim = await _sim(client, operator, "SIM-1", "8923400000000000001")
    created = await _meter(
        client,
        operator,
        "MTR-0001",
        meterType="three-phase",
        brand="Hexing",
        ipAddress="10.0.0.7",
        port=4059,
        areaId=area,
        customerId=customer,
        simCardId=sim,
        status="installed",
        concentratorId="DCU-1",
    )
    assert created["meterType"] == "three-phase" and created["relayState"] == "unknown"
    assert created["area"] == {"id": area, "code": "NORTH", "name": "Area NORTH"}
    assert created["customer"]["accountNumber"] == "ACC-1"
    assert created["simCard"]["simNumber"] == "SIM-1" and created["simCard"]["status"] == "active"
    assert created["installedAt"] is not None, "an installed meter gets its installation time"
    assert created["dlms"]["transport"] == "wrapper" and created["dlms"]["hasPassword"] is False

    fetched = await client.get(f"/api/meters/{created['id']}", headers=operator)
    assert fetched.status_code == 200 and fetched.json()["meterNumber"] == "MTR-0001"

    changed = await client.put(
        f"/api/meters/{created['id']}", json={"brand": "Hexcell", "model": "HXE310"}, headers=operator
    )
    assert changed.status_code == 200
    assert (changed.json()["brand"], changed.json()["model"]) == ("Hexcell", "HXE310")
    assert changed.json()["customer"]["id"] == customer, "fields not sent stay as they were"

    plain = await _meter(client, operator, "MTR-0002")
    removed = await client.delete(f"/api/meters/{plain['id']}", headers=operator)
    assert removed.status_code == 200 and removed.json() == {"outcome": "deleted"}
    assert (await client.get(f"/api/meters/{plain['id']}", headers=operator)).status_code == 404

    async with runtime.sessions() as session:
        actions = list(await session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "meter")))
    assert actions.count("create") == 2 and "update" in actions and "delete" in actions


async def test_a_prosumers_meter_and_its_own_contact_interval_are_kept_and_cleared(
    client: AsyncClient, operator: dict[str, str]
) -> None:
    plain = await _meter(client, operator, "MTR-PLAIN")
    assert (plain["exportAllowed"], plain["expectedIntervalS"]) == (False, None)

    solar = await _meter(client, operator, "MTR-SOLAR", exportAllowed=True, expectedIntervalS=3600)
    assert (solar["exportAllowed"], solar["expectedIntervalS"]) == (True, 3600)
    path = f"/api/meters/{solar['id']}"
    kept = await client.put(path, json={"brand": "Hexing"}, headers=operator)
    assert (kept.json()["exportAllowed"], kept.json()["expectedIntervalS"]) == (True, 3600)
    cleared = await client.put(path, json={"expectedIntervalS": None, "exportAllowed": False}, headers=operator)
    assert cleared.status_code == 200
    assert (cleared.json()["exportAllowed"], cleared.json()["expectedIntervalS"]) == (False, None)


async def test_delete_with_readings_decommissions_and_keeps_history(
    client: AsyncClient, operator: dict[str, str], runtime: Runtime
) -> None:
    customer = await _customer(client, operator, "ACC-9")
    sim = await _sim(client, operator, "SIM-9", "8923400000000000009")
    meter = await _meter(client, operator, "MTR-9", customerId=customer, simCardId=sim)
    async with runtime.sessions() as session:
        session.add(Reading(meter_id=meter["id"], obis_id=1, ts=datetime(2024, 1, 1, tzinfo=UTC), value=12.5))
        await session.commit()

    answer = await client.delete(f"/api/meters/{meter['id']}", headers=operator)
    assert answer.status_code == 200
    body = answer.json()
    assert body["outcome"] == "decommissioned"
    assert body["meter"]["status"] == "decommissioned" and body["meter"]["decommissionedAt"] is not None
    assert body["meter"]["customer"] is None and body["meter"]["simCard"] is None

    history = (await client.get(f"/api/meters/{meter['id']}/assignments", headers=operator)).json()
    assert history["total"] == 2
    assert all(row["releasedAt"] is not None and row["releasedBy"] for row in history["items"])
    assert (await client.get(f"/api/sims/{sim}", headers=operator)).json()["status"] == "available"
    assert await _count(runtime, Reading) == 1

    again = await client.delete(f"/api/meters/{meter['id']}", headers=operator)
    assert again.status_code == 200 and again.json()["outcome"] == "decommissioned"
    relink = await client.put(f"/api/meters/{meter['id']}", json={"simCardId": sim}, headers=operator)
    assert relink.status_code == 409 and relink.json()["error"]["details"][0]["field"] == "simCardId"
    online = await client.put(f"/api/meters/{meter['id']}", json={"status": "online"}, headers=operator)
    assert online.status_code == 409
    back = await client.put(
        f"/api/meters/{meter['id']}", json={"status": "warehouse", "simCardId": sim}, headers=operator
    )
    assert back.status_code == 200, back.text
    assert back.json()["decommissionedAt"] is None and back.json()["simCard"]["id"] == sim


async def test_moving_a_sim_and_reassigning_the_customer_keep_both_histories(
    client: AsyncClient, operator: dict[str, str]
) -> None:
    sim = await _sim(client, operator, "SIM-M", "8923400000000000010")
    first_customer = await _customer(client, operator, "ACC-A")
    second_customer = await _customer(client, operator, "ACC-B")
    first = await _meter(client, operator, "MTR-A", simCardId=sim, customerId=first_customer)
    second = await _meter(client, operator, "MTR-B")

    moved = await client.put(f"/api/meters/{second['id']}", json={"simCardId": sim}, headers=operator)
    assert moved.status_code == 200 and moved.json()["simCard"]["id"] == sim
    assert (await client.get(f"/api/meters/{first['id']}", headers=operator)).json()["simCardId"] is None
    sim_history = (await client.get(f"/api/sims/{sim}/assignments", headers=operator)).json()["items"]
    assert [(row["meterNumber"], row["releasedAt"] is None) for row in sim_history] == [
        ("MTR-B", True),
        ("MTR-A", False),
    ]

    reassigned = await client.put(f"/api/meters/{first['id']}", json={"customerId": second_customer}, headers=operator)
    assert reassigned.json()["customer"]["accountNumber"] == "ACC-B"
    rows = (await client.get(f"/api/meters/{first['id']}/assignments", headers=operator)).json()["items"]
    customer_rows = [(row["accountNumber"], row["releasedAt"] is None) for row in rows if row["kind"] == "customer"]
    assert customer_rows == [("ACC-B", True), ("ACC-A", False)]

    released = await client.put(
        f"/api/meters/{second['id']}", json={"simCardId": None, "customerId": None}, headers=operator
    )
    assert released.json()["simCard"] is None
    sim_after = (await client.get(f"/api/sims/{sim}", headers=operator)).json()
    assert sim_after["status"] == "available" and sim_after["meter"] is None


async def test_unknown_links_are_listed_and_nothing_is_written(
    client: AsyncClient, operator: dict[str, str], runtime: Runtime
) -> None:
    answer = await client.post(
        "/api/meters",
        json={"meterNumber": "MTR-X", "areaId": 999, "customerId": 998, "simCardId": 997},
        headers=operator,
    )
    assert answer.status_code == 422
    assert {p["field"] for p in answer.json()["error"]["details"]} == {"areaId", "customerId", "simCardId"}
    assert await _count(runtime, Meter) == 0 and await _count(runtime, MeterAssignment) == 0


async def test_lists_paginate_filter_by_area_with_sub_areas_and_sort(
    client: AsyncClient, operator: dict[str, str]
) -> None:
    region = await _area(client, operator, "REGION")
    feeder = await _area(client, operator, "FEEDER", parent=region)
    elsewhere = await _area(client, operator, "SOUTH")
    customer = await _customer(client, operator, "ACC-L")
    await _meter(client, operator, "M-001", areaId=region, brand="Hexing", concentratorId="DCU-7")
    await _meter(client, operator, "M-002", areaId=feeder, brand="Hexcell", meterType="three-phase")
    await _meter(client, operator, "M-003", areaId=elsewhere, brand="hexing", customerId=customer, status="online")
    await _meter(client, operator, "M-004", connectionMode="push")

    async def numbers(query: str) -> list[str]:
        answer = await client.get(f"/api/meters?{query}", headers=operator)
        assert answer.status_code == 200, answer.text
        return [meter["meterNumber"] for meter in answer.json()["items"]]

    assert await numbers("area=REGION") == ["M-001", "M-002"]
    assert await numbers("area=Area FEEDER") == ["M-002"]
    assert await numbers("brand=HEXING") == ["M-001", "M-003"]
    assert await numbers("type=three-phase") == ["M-002"]
    assert await numbers("status=online") == ["M-003"]
    assert await numbers(f"customerId={customer}") == ["M-003"]
    assert await numbers("connectionMode=push") == ["M-004"]
    assert await numbers("concentratorId=DCU-7") == ["M-001"]
    assert await numbers("search=dcu-7") == ["M-001"]
    assert await numbers("search=m-00&sort=-meterNumber") == ["M-004", "M-003", "M-002", "M-001"]
    assert await numbers("area=REGION&sort=brand") == ["M-002", "M-001"]
    assert await numbers("area=REGION&sort=-brand") == ["M-001", "M-002"]

    page = (await client.get("/api/meters?limit=3&page=2&sort=meterNumber", headers=operator)).json()
    assert (page["total"], page["page"], page["limit"]) == (4, 2, 3)
    assert [meter["meterNumber"] for meter in page["items"]] == ["M-004"]

    bad_sort = await client.get("/api/meters?sort=colour", headers=operator)
    assert bad_sort.status_code == 422
    message = bad_sort.json()["error"]["details"][0]["message"]
    assert all(key in message for key in ("meterNumber", "status", "brand", "lastSeenAt", "createdAt"))
    assert (await client.get("/api/meters?area=NOWHERE", headers=operator)).status_code == 422
    assert (await client.get("/api/meters?status=melted", headers=operator)).status_code == 422


async def test_dlms_secrets_are_write_only_and_stored_sealed(
    client: AsyncClient, operator: dict[str, str], admin: dict[str, str], runtime: Runtime
) -> None:
    dlms = {
        "authentication": "hls-gmac",
        "systemTitle": "4858530000000001",
        "password": PASSWORD,
        "authenticationKey": AUTH_KEY,
        "blockCipherKey": CIPHER_KEY,
    }
    created = await client.post("/api/meters", json={"meterNumber": "SEC-1", "dlms": dlms}, headers=operator)
    assert created.status_code == 201, created.text
    meter_id = created.json()["id"]
    flags = created.json()["dlms"]
    assert (flags["hasPassword"], flags["hasAuthenticationKey"], flags["hasBlockCipherKey"]) == (True, True, True)

    answers = [
        created,
        await client.get(f"/api/meters/{meter_id}", headers=operator),
        await client.get("/api/meters", headers=operator),
        await client.put(f"/api/meters/{meter_id}", json={"dlms": {"securitySuite": 0}}, headers=operator),
        await client.get("/api/audit?limit=500", headers=admin),
        await client.post("/api/meters", json={"meterNumber": "SEC-9", "port": 0, "dlms": dlms}, headers=operator),
    ]
    assert "dlms_password" in answers[4].text, "the audit log says a secret was set, never its value"
    for answer in answers:
        for secret in (PASSWORD, AUTH_KEY, CIPHER_KEY, AUTH_KEY.lower(), CIPHER_KEY.lower()):
            assert secret not in answer.text

    async with runtime.sessions() as session:
        meter = await session.get(Meter, meter_id)
        assert meter is not None and meter.dlms_authentication_key_enc is not None
        assert meter.dlms_password_enc is not None and meter.dlms_block_cipher_key_enc is not None
        assert AUTH_KEY.encode() not in meter.dlms_authentication_key_enc
        assert runtime.secret_box.open(meter.dlms_authentication_key_enc) == bytes.fromhex(AUTH_KEY)
        assert runtime.secret_box.open(meter.dlms_block_cipher_key_enc) == bytes.fromhex(CIPHER_KEY)
        assert runtime.secret_box.open(meter.dlms_password_enc) == PASSWORD.encode()
        audit_details = list(await session.scalars(select(AuditEntry.details).where(AuditEntry.entity == "meter")))
    assert all(PASSWORD not in str(details) and AUTH_KEY not in str(details) for details in audit_details)

    cleared = await client.put(f"/api/meters/{meter_id}", json={"dlms": {"password": None}}, headers=operator)
    assert cleared.status_code == 200 and cleared.json()["dlms"]["hasPassword"] is False
    assert cleared.json()["dlms"]["hasAuthenticationKey"] is True
    needs_keys = await client.put(f"/api/meters/{meter_id}", json={"dlms": {"blockCipherKey": None}}, headers=operator)
    assert needs_keys.status_code == 422
    assert needs_keys.json()["error"]["details"][0]["field"] == "dlms.blockCipherKey"
    lls = await client.post(
        "/api/meters", json={"meterNumber": "SEC-2", "dlms": {"authentication": "lls"}}, headers=operator
    )
    assert lls.status_code == 422 and lls.json()["error"]["details"][0]["field"] == "dlms.password"


async def test_a_customer_sees_only_their_own_meters(
    client: AsyncClient, operator: dict[str, str], login_as: UserFactory
) -> None:
    mine = await _customer(client, operator, "ACC-MINE")
    theirs = await _customer(client, operator, "ACC-THEIRS")
    own_meter = await _meter(client, operator, "MTR-OWN", customerId=theirs)
    await client.put(f"/api/meters/{own_meter['id']}", json={"customerId": mine}, headers=operator)
    other_meter = await _meter(client, operator, "MTR-OTHER", customerId=theirs)
    customer_user = await login_as(Role.CUSTOMER, customer_id=mine)

    listing = (await client.get("/api/meters", headers=customer_user)).json()
    assert [meter["meterNumber"] for meter in listing["items"]] == ["MTR-OWN"]
    assert (await client.get(f"/api/meters?customerId={theirs}", headers=customer_user)).json()["total"] == 0
    assert (await client.get(f"/api/meters/{own_meter['id']}", headers=customer_user)).status_code == 200
    assert (await client.get(f"/api/meters/{other_meter['id']}", headers=customer_user)).status_code == 404
    history = (await client.get(f"/api/meters/{own_meter['id']}/assignments", headers=customer_user)).json()
    assert [row["accountNumber"] for row in history["items"]] == ["ACC-MINE"], "earlier customers stay private"
    write = await client.put(f"/api/meters/{own_meter['id']}", json={"brand": "X"}, headers=customer_user)
    assert write.status_code == 403


async def test_viewer_reads_and_area_limited_operator_stays_in_their_areas(
    client: AsyncClient, operator: dict[str, str], viewer: dict[str, str], login_as: UserFactory, runtime: Runtime
) -> None:
    north = await _area(client, operator, "N")
    feeder = await _area(client, operator, "N-F1", parent=north)
    south = await _area(client, operator, "S")
    north_meter = await _meter(client, operator, "MTR-N", areaId=north)
    feeder_meter = await _meter(client, operator, "MTR-NF", areaId=feeder)
    south_meter = await _meter(client, operator, "MTR-S", areaId=south)
    assert (await client.get("/api/meters", headers=viewer)).json()["total"] == 3
    assert (await client.post("/api/meters", json={"meterNumber": "V"}, headers=viewer)).status_code == 403

    limited = await login_as(Role.OPERATOR, username="north-operator")
    async with runtime.sessions() as session:
        user = await user_store.by_username(session, "north-operator")
        assert user is not None
        await user_store.set_area_ids(session, user.id, [north])
        await session.commit()
    listing = (await client.get("/api/meters?sort=meterNumber", headers=limited)).json()
    assert [meter["meterNumber"] for meter in listing["items"]] == ["MTR-N", "MTR-NF"], "a region includes its feeders"
    assert (await client.get(f"/api/meters/{feeder_meter['id']}", headers=limited)).status_code == 200
    assert (await client.get(f"/api/meters/{south_meter['id']}", headers=limited)).status_code == 404
    into_south = await client.post("/api/meters", json={"meterNumber": "MTR-X", "areaId": south}, headers=limited)
    assert into_south.status_code == 403
    move = await client.put(f"/api/meters/{north_meter['id']}", json={"areaId": south}, headers=limited)
    assert move.status_code == 403
    assert await _count(runtime, Meter) == 3


BAD_BODIES: list[tuple[dict[str, Any], set[str]]] = [
    ({}, {"body.meterNumber"}),
    ({"meterNumber": 12345}, {"body.meterNumber"}),
    ({"meterNumber": "<script>alert(1)</script>"}, {"body.meterNumber"}),
    ({"meterNumber": "1'; DROP TABLE meters; --"}, {"body.meterNumber"}),
    ({"meterNumber": "M" * 33}, {"body.meterNumber"}),
    ({"meterNumber": "8.9234E+19"}, {"body.meterNumber"}),
    ({"meterNumber": "OK-1", "brand": "<b>Hexing</b>"}, {"body.brand"}),
    ({"meterNumber": "OK-1", "model": "x" * 61}, {"body.model"}),
    ({"meterNumber": "OK-1", "ipAddress": "300.1.1.1"}, {"body.ipAddress"}),
    ({"meterNumber": "OK-1", "port": 0}, {"body.port"}),
    ({"meterNumber": "OK-1", "port": 70000}, {"body.port"}),
    ({"meterNumber": "OK-1", "port": "http"}, {"body.port"}),
    ({"meterNumber": "OK-1", "meterType": "nuclear"}, {"body.meterType"}),
    ({"meterNumber": "OK-1", "status": "decommissioned"}, {"status"}),
    ({"meterNumber": "OK-1", "relayState": "connected"}, {"body.relayState"}),
    ({"meterNumber": "OK-1", "installedAt": "2024-01-01T00:00:00"}, {"body.installedAt"}),
    ({"meterNumber": "OK-1", "expectedIntervalS": 5}, {"body.expectedIntervalS"}),
    ({"meterNumber": "OK-1", "exportAllowed": "sometimes"}, {"body.exportAllowed"}),
    ({"meterNumber": "OK-1", "customerId": "abc", "areaId": -1}, {"body.customerId", "body.areaId"}),
    ({"meterNumber": "OK-1", "dlms": {"securitySuite": 2}}, {"body.dlms.securitySuite"}),
    ({"meterNumber": "OK-1", "dlms": {"authenticationKey": "00112233"}}, {"body.dlms.authenticationKey"}),
    ({"meterNumber": "OK-1", "dlms": {"blockCipherKey": "Z" * 32}}, {"body.dlms.blockCipherKey"}),
    ({"meterNumber": "OK-1", "dlms": {"systemTitle": "XYZ"}}, {"body.dlms.systemTitle"}),
    (
        {"meterNumber": "OK-1", "dlms": {"clientAddress": 0, "colour": 1}},
        {"body.dlms.clientAddress", "body.dlms.colour"},
    ),
    ({"meterNumber": "DUP-1"}, {"meterNumber"}),
    ({"meterNumber": "dup-1"}, {"meterNumber"}),
]


@pytest.mark.parametrize(("body", "fields"), BAD_BODIES)
async def test_bad_meter_bodies_list_every_problem_and_write_nothing(
    client: AsyncClient, operator: dict[str, str], runtime: Runtime, body: dict[str, Any], fields: set[str]
) -> None:
    await _meter(client, operator, "DUP-1")
    answer = await client.post("/api/meters", json=body, headers=operator)
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.status_code != 500
    assert {problem["field"] for problem in answer.json()["error"]["details"]} == fields
    assert await _count(runtime, Meter) == 1


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"meterNumber": None}, {"body"}),
        ({"dlms": None}, {"body"}),
        ({"dlms": {"transport": None}}, {"body.dlms"}),
        ({"lastSeenAt": "2024-01-01T00:00:00Z"}, {"body.lastSeenAt"}),
        ({"exportAllowed": None}, {"body"}),
        ({"expectedIntervalS": 30 * 24 * 3600}, {"body.expectedIntervalS"}),
        ({"meterNumber": "DUP-1"}, {"meterNumber"}),
    ],
)
async def test_bad_meter_updates_are_refused_and_change_nothing(
    client: AsyncClient, operator: dict[str, str], body: dict[str, Any], fields: set[str]
) -> None:
    await _meter(client, operator, "DUP-1")
    target = await _meter(client, operator, "KEEP-1", brand="Hexing")
    answer = await client.put(f"/api/meters/{target['id']}", json=body, headers=operator)
    assert 400 <= answer.status_code < 500, answer.text
    assert {problem["field"] for problem in answer.json()["error"]["details"]} == fields
    after = (await client.get(f"/api/meters/{target['id']}", headers=operator)).json()
    assert (after["meterNumber"], after["brand"]) == ("KEEP-1", "Hexing")
    assert (await client.put("/api/meters/999999", json={"brand": "x"}, headers=operator)).status_code == 404


async def test_never_seen_meters_sort_last_both_ways(
    client: AsyncClient, operator: dict[str, str], runtime: Runtime
) -> None:
    for number in ("SEEN-OLD", "NEVER", "SEEN-NEW"):
        await _meter(client, operator, number)
    async with runtime.sessions() as session:
        for number, day in (("SEEN-OLD", 1), ("SEEN-NEW", 2)):
            meter = await session.scalar(select(Meter).where(Meter.meter_number == number))
            assert meter is not None
            meter.last_seen_at = datetime(2024, 3, day, tzinfo=UTC)
        await session.commit()
    for sort, expected in (
        ("lastSeenAt", ["SEEN-OLD", "SEEN-NEW", "NEVER"]),
        ("-lastSeenAt", ["SEEN-NEW", "SEEN-OLD", "NEVER"]),
    ):
        answer = (await client.get(f"/api/meters?sort={sort}", headers=operator)).json()
        assert [meter["meterNumber"] for meter in answer["items"]] == expected
        assert answer["items"][0]["lastSeenAt"].startswith("2024-03-0")
