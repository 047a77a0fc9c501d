"""Customers over HTTP: CRUD, closing instead of losing history, lists, the customer's own view, bad input."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select

from hes.db.enums import Role
from hes.db.tables import AuditEntry, Customer
from hes.runtime import Runtime
from tests.conftest import UserFactory


async def _post(client: AsyncClient, headers: dict[str, str], path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await client.post(path, json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def _area(client: AsyncClient, headers: dict[str, str], code: str, parent: int | None = None) -> int:
    body = {"code": code, "name": f"Area {code}", "parentId": parent}
    return int((await _post(client, headers, "/api/areas", body))["id"])


async def _customer(client: AsyncClient, headers: dict[str, str], account: str, **fields: Any) -> dict[str, Any]:
    body = {"accountNumber": account, "customerName": f"Customer {account}", **fields}
    return await _post(client, headers, "/api/customers", body)


async def _count(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Customer)) or 0)


async def test_operator_creates_reads_updates_and_deletes_a_customer(
    client: AsyncClient, operator: dict[str, str], runtime: Runtime
) -> None:
    area = await _area(client, operator, "WEST")
    created = await _customer(
        client,
        operator,
        "ACC-100",
        customerName="O'Brien & Sons Ltd",
        address="12 Marina Road, Lagos",
        phoneNumber="+234 803 555 0101",
        email="Accounts@OBrien.example",
        areaId=area,
        customerType="commercial",
        tariffPlan="C1",
        connectionDate="2023-05-01",
    )
    assert created["customerType"] == "commercial" and created["status"] == "active"
    assert created["connectionDate"] == "2023-05-01" and created["email"] == "Accounts@obrien.example"

    fetched = await client.get(f"/api/customers/{created['id']}", headers=operator)
    assert fetched.status_code == 200 and fetched.json()["customerName"] == "O'Brien & Sons Ltd"

    changed = await client.put(
        f"/api/customers/{created['id']}", json={"tariffPlan": "C2", "email": None}, headers=operator
    )
    assert changed.status_code == 200
    assert (changed.json()["tariffPlan"], changed.json()["email"]) == ("C2", None)
    assert changed.json()["address"] == "12 Marina Road, Lagos"

    removed = await client.delete(f"/api/customers/{created['id']}", headers=operator)
    assert removed.status_code == 200 and removed.json() == {"outcome": "deleted"}
    assert (await client.get(f"/api/customers/{created['id']}", headers=operator)).status_code == 404
    async with runtime.sessions() as session:
        actions = list(await session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "customer")))
    assert actions == ["create", "update", "delete"]


async def test_a_customer_with_meters_or_history_is_never_lost(client: AsyncClient, operator: dict[str, str]) -> None:
    customer = await _customer(client, operator, "ACC-200")
    meter = await _post(client, operator, "/api/meters", {"meterNumber": "MTR-200", "customerId": customer["id"]})

    linked = await client.delete(f"/api/customers/{customer['id']}", headers=operator)
    assert linked.status_code == 409
    closing = await client.put(f"/api/customers/{customer['id']}", json={"status": "closed"}, headers=operator)
    assert closing.status_code == 409 and closing.json()["error"]["details"][0]["field"] == "status"

    await client.put(f"/api/meters/{meter['id']}", json={"customerId": None}, headers=operator)
    closed = await client.delete(f"/api/customers/{customer['id']}", headers=operator)
    assert closed.status_code == 200 and closed.json() == {"outcome": "closed"}
    after = (await client.get(f"/api/customers/{customer['id']}", headers=operator)).json()
    assert after["status"] == "closed"
    history = (await client.get(f"/api/customers/{customer['id']}/assignments", headers=operator)).json()
    assert [row["meterNumber"] for row in history["items"]] == ["MTR-200"]
    assert history["items"][0]["releasedAt"] is not None

    relink = await client.put(f"/api/meters/{meter['id']}", json={"customerId": customer["id"]}, headers=operator)
    assert relink.status_code == 409, "a closed account cannot be given a meter"


async def test_customer_meters_lists_the_meters_supplying_it(client: AsyncClient, operator: dict[str, str]) -> None:
    customer = await _customer(client, operator, "ACC-300")
    other = await _customer(client, operator, "ACC-301")
    for number, owner in (("M-1", customer), ("M-2", customer), ("M-3", other)):
        await _post(client, operator, "/api/meters", {"meterNumber": number, "customerId": owner["id"]})
    answer = await client.get(f"/api/customers/{customer['id']}/meters?sort=-meterNumber", headers=operator)
    assert answer.status_code == 200
    assert [meter["meterNumber"] for meter in answer.json()["items"]] == ["M-2", "M-1"]
    assert (await client.get("/api/customers/999/meters", headers=operator)).status_code == 404


async def test_lists_paginate_filter_and_sort(client: AsyncClient, operator: dict[str, str]) -> None:
    region = await _area(client, operator, "REG")
    district = await _area(client, operator, "DIST", parent=region)
    await _customer(client, operator, "A-1", customerName="Ada Obi", areaId=region, phoneNumber="0803 111 2222")
    await _customer(client, operator, "A-2", customerName="Bola Ade", areaId=district, customerType="industrial")
    await _customer(client, operator, "A-3", customerName="Chika Eze", email="chika@example.com", status="closed")

    async def accounts(query: str) -> list[str]:
        answer = await client.get(f"/api/customers?{query}", headers=operator)
        assert answer.status_code == 200, answer.text
        return [customer["accountNumber"] for customer in answer.json()["items"]]

    assert await accounts("area=REG") == ["A-1", "A-2"]
    assert await accounts("area=Area DIST") == ["A-2"]
    assert await accounts("type=industrial") == ["A-2"]
    assert await accounts("status=closed") == ["A-3"]
    assert await accounts("search=ade") == ["A-2"]
    assert await accounts("search=111") == ["A-1"]
    assert await accounts("search=CHIKA@") == ["A-3"]
    assert await accounts("sort=-customerName") == ["A-3", "A-2", "A-1"]
    page = (await client.get("/api/customers?limit=2&page=2", headers=operator)).json()
    assert (page["total"], [c["accountNumber"] for c in page["items"]]) == (3, ["A-3"])
    bad_sort = await client.get("/api/customers?sort=-balance", headers=operator)
    assert bad_sort.status_code == 422 and "accountNumber" in bad_sort.json()["error"]["details"][0]["message"]


async def test_a_customer_user_sees_only_their_own_record(
    client: AsyncClient, operator: dict[str, str], viewer: dict[str, str], login_as: UserFactory
) -> None:
    mine = await _customer(client, operator, "ACC-ME")
    other = await _customer(client, operator, "ACC-YOU")
    me = await login_as(Role.CUSTOMER, customer_id=mine["id"])

    listing = (await client.get("/api/customers", headers=me)).json()
    assert [customer["accountNumber"] for customer in listing["items"]] == ["ACC-ME"]
    assert (await client.get(f"/api/customers/{mine['id']}", headers=me)).status_code == 200
    assert (await client.get(f"/api/customers/{other['id']}", headers=me)).status_code == 404
    assert (await client.get(f"/api/customers/{other['id']}/meters", headers=me)).status_code == 404
    assert (await client.put(f"/api/customers/{mine['id']}", json={"address": "x"}, headers=me)).status_code == 403
    assert (await client.get("/api/customers", headers=viewer)).json()["total"] == 2
    assert (await client.delete(f"/api/customers/{other['id']}", headers=viewer)).status_code == 403

    # The customer's login keeps the record: deleting it closes it instead.
    closed = await client.delete(f"/api/customers/{mine['id']}", headers=operator)
    assert closed.json() == {"outcome": "closed"}


async def test_sql_text_in_a_name_is_stored_verbatim(client: AsyncClient, operator: dict[str, str]) -> None:
    name = "Robert'); DROP TABLE customers; --"
    created = await _customer(client, operator, "ACC-SQL", customerName=name)
    assert (await client.get(f"/api/customers/{created['id']}", headers=operator)).json()["customerName"] == name
    assert (await client.get("/api/customers", headers=operator)).json()["total"] == 1


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"body.accountNumber", "body.customerName"}),
        ({"accountNumber": 42, "customerName": ["x"]}, {"body.accountNumber", "body.customerName"}),
        ({"accountNumber": "A 1", "customerName": "x"}, {"body.accountNumber"}),
        ({"accountNumber": "'; DROP TABLE customers; --", "customerName": "x"}, {"body.accountNumber"}),
        ({"accountNumber": "A-1", "customerName": "<script>alert(1)</script>"}, {"body.customerName"}),
        ({"accountNumber": "A-1", "customerName": "x" * 161}, {"body.customerName"}),
        ({"accountNumber": "A-1", "customerName": ""}, {"body.customerName"}),
        ({"accountNumber": "A-1", "customerName": "x", "email": "not-an-email"}, {"body.email"}),
        ({"accountNumber": "A-1", "customerName": "x", "phoneNumber": "call me"}, {"body.phoneNumber"}),
        ({"accountNumber": "A-1", "customerName": "x", "connectionDate": "31/31/2024"}, {"body.connectionDate"}),
        ({"accountNumber": "A-1", "customerName": "x", "customerType": "alien"}, {"body.customerType"}),
        ({"accountNumber": "A-1", "customerName": "x", "balance": 5}, {"body.balance"}),
        ({"accountNumber": "A-1", "customerName": "x", "areaId": 999}, {"areaId"}),
        ({"accountNumber": "TAKEN-1", "customerName": "x"}, {"accountNumber"}),
        ({"accountNumber": "taken-1", "customerName": "x"}, {"accountNumber"}),
    ],
)
async def test_bad_customer_bodies_list_every_problem_and_write_nothing(
    client: AsyncClient, operator: dict[str, str], runtime: Runtime, body: dict[str, Any], fields: set[str]
) -> None:
    await _customer(client, operator, "TAKEN-1")
    answer = await client.post("/api/customers", json=body, headers=operator)
    assert answer.status_code in (409, 422), answer.text
    assert {problem["field"] for problem in answer.json()["error"]["details"]} == fields
    assert await _count(runtime) == 1


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"customerName": None}, {"body"}),
        ({"accountNumber": "TAKEN-1"}, {"accountNumber"}),
        ({"email": "a@"}, {"body.email"}),
        ({"status": "sleeping"}, {"body.status"}),
    ],
)
async def test_bad_customer_updates_change_nothing(
    client: AsyncClient, operator: dict[str, str], body: dict[str, Any], fields: set[str]
) -> None:
    await _customer(client, operator, "TAKEN-1")
    target = await _customer(client, operator, "KEEP-1", email="keep@example.com")
    answer = await client.put(f"/api/customers/{target['id']}", json=body, headers=operator)
    assert answer.status_code in (409, 422), answer.text
    assert {problem["field"] for problem in answer.json()["error"]["details"]} == fields
    after = (await client.get(f"/api/customers/{target['id']}", headers=operator)).json()
    assert (after["accountNumber"], after["email"], after["status"]) == ("KEEP-1", "keep@example.com", "active")
