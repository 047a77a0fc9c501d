"""SIM cards over HTTP: CRUD, the meter each is in, deletion rules, lists, roles, bad input."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select

from hes.db.enums import Role
from hes.db.tables import AuditEntry, SimCard
from hes.runtime import Runtime
from tests.conftest import UserFactory

ICCID = "8923401234567890123"


async def _post(client: AsyncClient, headers: dict[str, str], path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await client.post(path, json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def _sim(client: AsyncClient, headers: dict[str, str], number: str, iccid: str, **fields: Any) -> dict[str, Any]:
    return await _post(client, headers, "/api/sims", {"simNumber": number, "iccid": iccid, **fields})


async def _count(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(SimCard)) or 0)


async def test_operator_creates_reads_updates_and_deletes_a_sim(
    client: AsyncClient, operator: dict[str, str], runtime: Runtime
) -> None:
    created = await _sim(
        client,
        operator,
        "SIM-100",
        ICCID,
        imsi="621300123456789",
        msisdn="+234 803-555-0100",
        provider="MTN",
        ipAddress="10.20.0.5",
        apn="meters.mtn.ng",
        dataLimitMb=50,
        activationDate="2024-02-01",
    )
    assert created["status"] == "available" and created["meter"] is None
    assert created["msisdn"] == "+2348035550100"

    changed = await client.put(f"/api/sims/{created['id']}", json={"provider": "Airtel", "apn": None}, headers=operator)
    assert changed.status_code == 200
    assert (changed.json()["provider"], changed.json()["apn"], changed.json()["imsi"]) == (
        "Airtel",
        None,
        "621300123456789",
    )
    fetched = await client.get(f"/api/sims/{created['id']}", headers=operator)
    assert fetched.json()["provider"] == "Airtel"

    removed = await client.delete(f"/api/sims/{created['id']}", headers=operator)
    assert removed.status_code == 200 and removed.json() == {"outcome": "deleted"}
    assert (await client.get(f"/api/sims/{created['id']}", headers=operator)).status_code == 404
    async with runtime.sessions() as session:
        actions = list(await session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "sim")))
    assert actions == ["create", "update", "delete"]


async def test_a_sim_in_a_meter_or_with_history_is_not_deleted(client: AsyncClient, operator: dict[str, str]) -> None:
    sim = await _sim(client, operator, "SIM-200", ICCID)
    meter = await _post(client, operator, "/api/meters", {"meterNumber": "MTR-200", "simCardId": sim["id"]})
    shown = (await client.get(f"/api/sims/{sim['id']}", headers=operator)).json()
    assert shown["status"] == "active" and shown["meter"] == {"id": meter["id"], "meterNumber": "MTR-200"}

    in_meter = await client.delete(f"/api/sims/{sim['id']}", headers=operator)
    assert in_meter.status_code == 409 and "MTR-200" in in_meter.json()["error"]["message"]
    available = await client.put(f"/api/sims/{sim['id']}", json={"status": "available"}, headers=operator)
    assert available.status_code == 409
    suspended = await client.put(f"/api/sims/{sim['id']}", json={"status": "suspended"}, headers=operator)
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"

    await client.put(f"/api/meters/{meter['id']}", json={"simCardId": None}, headers=operator)
    released = (await client.get(f"/api/sims/{sim['id']}", headers=operator)).json()
    assert released["status"] == "suspended", "an operator's suspension outlives the meter link"
    with_history = await client.delete(f"/api/sims/{sim['id']}", headers=operator)
    assert with_history.status_code == 409 and "inactive" in with_history.json()["error"]["message"]
    history = (await client.get(f"/api/sims/{sim['id']}/assignments", headers=operator)).json()
    assert history["total"] == 1 and history["items"][0]["meterNumber"] == "MTR-200"


async def test_lists_filter_by_status_provider_assignment_and_meter_area(
    client: AsyncClient, operator: dict[str, str]
) -> None:
    region = (await _post(client, operator, "/api/areas", {"code": "R", "name": "Region"}))["id"]
    feeder = (await _post(client, operator, "/api/areas", {"code": "F", "name": "Feeder", "parentId": region}))["id"]
    in_feeder = await _sim(client, operator, "S-1", "8923400000000000001", provider="MTN", msisdn="08030000001")
    await _sim(client, operator, "S-2", "8923400000000000002", provider="Glo", imsi="621500000000002")
    await _sim(client, operator, "S-3", "8923400000000000003", provider="mtn", status="suspended")
    await _post(client, operator, "/api/meters", {"meterNumber": "M-F", "areaId": feeder, "simCardId": in_feeder["id"]})

    async def numbers(query: str) -> list[str]:
        answer = await client.get(f"/api/sims?{query}", headers=operator)
        assert answer.status_code == 200, answer.text
        return [sim["simNumber"] for sim in answer.json()["items"]]

    assert await numbers("assigned=true") == ["S-1"]
    assert await numbers("assigned=false") == ["S-2", "S-3"]
    assert await numbers("area=R") == ["S-1"], "the region filter includes its feeder"
    assert await numbers("provider=MTN") == ["S-1", "S-3"]
    assert await numbers("status=suspended") == ["S-3"]
    assert await numbers("status=active") == ["S-1"]
    assert await numbers("search=621500") == ["S-2"]
    assert await numbers("search=0000003") == ["S-3"]
    assert await numbers("search=08030000001") == ["S-1"]
    assert await numbers("sort=-simNumber&limit=2&page=1") == ["S-3", "S-2"]
    listing = (await client.get("/api/sims?assigned=true", headers=operator)).json()
    assert listing["items"][0]["meter"]["meterNumber"] == "M-F"
    bad_sort = await client.get("/api/sims?sort=price", headers=operator)
    assert bad_sort.status_code == 422 and "iccid" in bad_sort.json()["error"]["details"][0]["message"]


async def test_sims_are_for_staff_and_writes_for_operators(
    client: AsyncClient, operator: dict[str, str], viewer: dict[str, str], login_as: UserFactory
) -> None:
    sim = await _sim(client, operator, "SIM-R", ICCID)
    customer = (await _post(client, operator, "/api/customers", {"accountNumber": "C-1", "customerName": "C"}))["id"]
    customer_user = await login_as(Role.CUSTOMER, customer_id=customer)
    assert (await client.get("/api/sims", headers=viewer)).status_code == 200
    assert (await client.get(f"/api/sims/{sim['id']}", headers=viewer)).status_code == 200
    assert (await client.put(f"/api/sims/{sim['id']}", json={"apn": "x"}, headers=viewer)).status_code == 403
    assert (await client.get("/api/sims", headers=customer_user)).status_code == 403
    assert (await client.get(f"/api/sims/{sim['id']}", headers=customer_user)).status_code == 403
    assert (await client.get("/api/sims")).status_code == 401


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"body.simNumber", "body.iccid"}),
        ({"simNumber": 7, "iccid": 8923400000000000001}, {"body.simNumber", "body.iccid"}),
        ({"simNumber": "S-1", "iccid": "1234567890123456789"}, {"body.iccid"}),
        ({"simNumber": "S-1", "iccid": "89234"}, {"body.iccid"}),
        ({"simNumber": "S-1", "iccid": "8.92340E+18"}, {"body.iccid"}),
        ({"simNumber": "<script>", "iccid": ICCID}, {"body.simNumber"}),
        ({"simNumber": "S'; DELETE FROM sim_cards; --", "iccid": ICCID}, {"body.simNumber"}),
        ({"simNumber": "S" * 33, "iccid": ICCID}, {"body.simNumber"}),
        ({"simNumber": "S-1", "iccid": ICCID, "imsi": "12345"}, {"body.imsi"}),
        ({"simNumber": "S-1", "iccid": ICCID, "msisdn": "phone"}, {"body.msisdn"}),
        ({"simNumber": "S-1", "iccid": ICCID, "ipAddress": "10.0.0.256"}, {"body.ipAddress"}),
        ({"simNumber": "S-1", "iccid": ICCID, "apn": "bad apn!"}, {"body.apn"}),
        ({"simNumber": "S-1", "iccid": ICCID, "provider": "<img src=x>"}, {"body.provider"}),
        ({"simNumber": "S-1", "iccid": ICCID, "dataLimitMb": -1}, {"body.dataLimitMb"}),
        ({"simNumber": "S-1", "iccid": ICCID, "status": "lost"}, {"body.status"}),
        ({"simNumber": "S-1", "iccid": ICCID, "meterId": 1}, {"body.meterId"}),
        ({"simNumber": "TAKEN", "iccid": "8923400000000000077", "imsi": "621300000000099"}, {"simNumber", "imsi"}),
        ({"simNumber": "S-1", "iccid": "8923400000000000099"}, {"iccid"}),
    ],
)
async def test_bad_sim_bodies_list_every_problem_and_write_nothing(
    client: AsyncClient, operator: dict[str, str], runtime: Runtime, body: dict[str, Any], fields: set[str]
) -> None:
    await _sim(client, operator, "TAKEN", "8923400000000000099", imsi="621300000000099")
    answer = await client.post("/api/sims", json=body, headers=operator)
    assert answer.status_code in (409, 422), answer.text
    assert {problem["field"] for problem in answer.json()["error"]["details"]} == fields
    assert await _count(runtime) == 1


async def test_bad_sim_updates_change_nothing(client: AsyncClient, operator: dict[str, str]) -> None:
    await _sim(client, operator, "TAKEN", "8923400000000000099")
    target = await _sim(client, operator, "KEEP", ICCID, provider="MTN")
    for body, status in (({"iccid": "8923400000000000099"}, 409), ({"iccid": None}, 422), ({"port": 1}, 422)):
        answer = await client.put(f"/api/sims/{target['id']}", json=body, headers=operator)
        assert answer.status_code == status, answer.text
    after = (await client.get(f"/api/sims/{target['id']}", headers=operator)).json()
    assert (after["iccid"], after["provider"]) == (ICCID, "MTN")
    assert (await client.delete("/api/sims/424242", headers=operator)).status_code == 404
