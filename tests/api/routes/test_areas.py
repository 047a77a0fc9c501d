"""Areas over HTTP: CRUD, pagination, filters, bad input, roles."""

from __future__ import annotations

import pytest
from httpx import AsyncClient


async def _create(client: AsyncClient, headers: dict[str, str], code: str, **fields: object) -> dict[str, object]:
    answer = await client.post("/api/areas", json={"code": code, "name": f"Area {code}", **fields}, headers=headers)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def test_operator_creates_lists_updates_and_deletes_an_area(
    client: AsyncClient, operator: dict[str, str]
) -> None:
    north = await _create(client, operator, "NORTH")
    await _create(client, operator, "NORTH-1", parentId=north["id"])

    listing = (await client.get("/api/areas?limit=1&sort=-code", headers=operator)).json()
    assert listing["total"] == 2 and listing["limit"] == 1 and listing["page"] == 1
    assert [area["code"] for area in listing["items"]] == ["NORTH-1"]

    changed = await client.put(f"/api/areas/{north['id']}", json={"name": "North region"}, headers=operator)
    assert changed.status_code == 200 and changed.json()["name"] == "North region"
    assert changed.json()["code"] == "NORTH"

    in_use = await client.delete(f"/api/areas/{north['id']}", headers=operator)
    assert in_use.status_code == 409 and in_use.json()["error"]["code"] == "conflict"


async def test_duplicate_code_is_a_conflict_case_insensitively(client: AsyncClient, operator: dict[str, str]) -> None:
    await _create(client, operator, "EAST")
    answer = await client.post("/api/areas", json={"code": "east", "name": "again"}, headers=operator)
    assert answer.status_code == 409
    assert answer.json()["error"]["details"][0]["field"] == "code"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"body.code", "body.name"}),
        ({"code": "", "name": "x"}, {"body.code"}),
        ({"code": "A B", "name": "x"}, {"body.code"}),
        ({"code": "<script>", "name": "x"}, {"body.code"}),
        ({"code": "X" * 33, "name": "x"}, {"body.code"}),
        ({"code": "OK", "name": "x", "parentId": "one"}, {"body.parentId"}),
        ({"code": "OK", "name": "x", "colour": "red"}, {"body.colour"}),
    ],
)
async def test_bad_area_bodies_list_every_problem(
    client: AsyncClient, operator: dict[str, str], body: dict[str, object], fields: set[str]
) -> None:
    answer = await client.post("/api/areas", json=body, headers=operator)
    assert answer.status_code == 422
    assert {problem["field"] for problem in answer.json()["error"]["details"]} == fields


async def test_unknown_parent_and_cycles_are_refused(client: AsyncClient, operator: dict[str, str]) -> None:
    answer = await client.post("/api/areas", json={"code": "A", "name": "A", "parentId": 999}, headers=operator)
    assert answer.status_code == 422
    top = await _create(client, operator, "TOP")
    child = await _create(client, operator, "CHILD", parentId=top["id"])
    cycle = await client.put(f"/api/areas/{top['id']}", json={"parentId": child["id"]}, headers=operator)
    assert cycle.status_code == 422
    null_name = await client.put(f"/api/areas/{top['id']}", json={"name": None}, headers=operator)
    assert null_name.status_code == 422


async def test_viewer_reads_but_cannot_write(
    client: AsyncClient, operator: dict[str, str], viewer: dict[str, str]
) -> None:
    await _create(client, operator, "WEST")
    assert (await client.get("/api/areas", headers=viewer)).status_code == 200
    answer = await client.post("/api/areas", json={"code": "X", "name": "X"}, headers=viewer)
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden"
    assert (await client.get("/api/areas")).status_code == 401
