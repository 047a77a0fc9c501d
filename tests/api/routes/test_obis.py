"""/api/obis over HTTP: brands, a brand's catalogue by group, filters, unknown brands and bad queries."""

from __future__ import annotations

import pytest
from httpx import AsyncClient

from hes.db.enums import Role
from hes.db.tables import Customer
from hes.runtime import Runtime
from tests.conftest import UserFactory


async def test_brands_are_listed_for_any_signed_in_user(
    client: AsyncClient, login_as: UserFactory, runtime: Runtime
) -> None:
    async with runtime.sessions() as session:
        account = Customer(account_number="ACC-OBIS", customer_name="Catalogue reader")
        session.add(account)
        await session.commit()
    customer = await login_as(Role.CUSTOMER, customer_id=account.id)
    answer = await client.get("/api/obis/brands", headers=customer)
    assert answer.status_code == 200
    brands = {brand["brand"]: brand for brand in answer.json()}
    assert {"hexing", "hexcell", "idis"} <= set(brands)
    assert brands["hexing"]["extends"] == "idis"
    assert {"name": "management", "sap": 1} in brands["hexing"]["clients"]
    assert (await client.get("/api/obis/brands")).status_code == 401


async def test_the_catalogue_comes_grouped_with_readable_writable_and_methods(
    client: AsyncClient, viewer: dict[str, str]
) -> None:
    answer = await client.get("/api/obis?brand=Hexing", headers=viewer)
    assert answer.status_code == 200
    body = answer.json()
    assert (body["brand"], body["extends"], body["client"]) == ("hexing", "idis", {"name": "management", "sap": 1})
    assert body["total"] == sum(len(group["objects"]) for group in body["groups"]) > 600
    clock = next(item for group in body["groups"] for item in group["objects"] if item["obis"] == "0-0:1.0.0.255")
    assert {key: clock[key] for key in ("name", "classId", "version", "scaler", "unit")} == {
        "name": "Clock",
        "classId": 8,
        "version": 0,
        "scaler": None,
        "unit": None,
    }
    assert {"index": 2, "name": "time", "type": "octet-string", "size": 12} in clock["writable"]
    assert {"index": 6, "name": "shift_time", "type": "long", "size": None} in clock["methods"]
    assert all("index" in member and "type" in member for member in clock["readable"])


async def test_filters_narrow_the_catalogue(client: AsyncClient, viewer: dict[str, str]) -> None:
    energy = (await client.get("/api/obis?brand=idis&search=1-0:1.8.0.255", headers=viewer)).json()
    assert [item["obis"] for group in energy["groups"] for item in group["objects"]] == ["1-0:1.8.0.255"]
    clock = (await client.get("/api/obis?brand=idis&group=Clock&client=reading", headers=viewer)).json()
    assert [group["name"] for group in clock["groups"]] == ["Clock"]
    assert clock["client"]["name"] == "reading"
    assert clock["groups"][0]["objects"][0]["writable"] == []


async def test_an_unknown_brand_is_404_listing_the_known_ones(client: AsyncClient, viewer: dict[str, str]) -> None:
    answer = await client.get("/api/obis?brand=landis", headers=viewer)
    assert answer.status_code == 404
    error = answer.json()["error"]
    assert error["code"] == "not_found"
    assert all(brand in error["message"] for brand in ("hexcell", "hexing", "idis"))
    assert error["details"][0]["field"] == "brand"


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("", {"query.brand"}),
        ("?brand=", {"query.brand"}),
        ("?brand=" + "x" * 41, {"query.brand"}),
        ("?brand=idis&search=" + "y" * 101, {"query.search"}),
        ("?brand=idis&client=janitor", {"client"}),
    ],
)
async def test_bad_queries_are_422_naming_the_field(
    client: AsyncClient, viewer: dict[str, str], query: str, fields: set[str]
) -> None:
    answer = await client.get(f"/api/obis{query}", headers=viewer)
    assert answer.status_code == 422, answer.text
    assert {detail["field"] for detail in answer.json()["error"]["details"]} == fields
