"""User administration over HTTP: accounts, passwords, deactivation, the last admin, roles."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

from hes.db.enums import Role
from hes.db.tables import Customer
from hes.runtime import Runtime
from tests.conftest import PASSWORD, UserFactory

NEW_PASSWORD = "a-brand-new-password"


async def _create(client: AsyncClient, headers: dict[str, str], username: str, **fields: object) -> dict[str, Any]:
    body = {"username": username, "role": "viewer", "password": PASSWORD, **fields}
    answer = await client.post("/api/users", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def _login(client: AsyncClient, username: str, password: str) -> dict[str, Any]:
    answer = await client.post("/api/auth/login", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['accessToken']}"}


async def _me(client: AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    answer = await client.get("/api/auth/me", headers=headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def _customer(runtime: Runtime, account_number: str = "ACC-1") -> int:
    async with runtime.sessions() as session:
        customer = Customer(account_number=account_number, customer_name="Ada Obi")
        session.add(customer)
        await session.commit()
        return customer.id


async def test_admin_creates_an_account_that_can_sign_in(client: AsyncClient, admin: dict[str, str]) -> None:
    created = await _create(
        client, admin, "ada.obi@grid", role="operator", fullName="Ada Obi", email="Ada.Obi@Example.com"
    )
    assert created["role"] == "operator" and created["isActive"] is True
    assert created["fullName"] == "Ada Obi" and created["email"] == "Ada.Obi@example.com"
    assert created["generatedPassword"] is None and created["areaIds"] == []
    assert "passwordHash" not in created and "password" not in created

    tokens = await _login(client, "ada.obi@grid", PASSWORD)
    assert (await _me(client, _bearer(tokens)))["role"] == "operator"

    shown = await client.get(f"/api/users/{created['id']}", headers=admin)
    assert shown.status_code == 200
    assert "passwordHash" not in shown.json() and "generatedPassword" not in shown.json()


async def test_a_generated_password_is_answered_once_and_works(client: AsyncClient, admin: dict[str, str]) -> None:
    answer = await client.post("/api/users", json={"username": "fieldtech", "role": "viewer"}, headers=admin)
    assert answer.status_code == 201, answer.text
    generated = answer.json()["generatedPassword"]
    assert isinstance(generated, str) and len(generated) >= 10

    await _login(client, "fieldtech", generated)
    listing = (await client.get("/api/users?search=fieldtech", headers=admin)).json()
    assert generated not in str(listing)
    audit = (await client.get("/api/audit?entity=user", headers=admin)).json()
    assert generated not in str(audit) and "passwordHash" not in str(audit)


async def test_list_filters_by_role_and_search_and_paginates(client: AsyncClient, admin: dict[str, str]) -> None:
    await _create(client, admin, "op-north", role="operator", fullName="North Operator")
    await _create(client, admin, "op-south", role="operator", fullName="South Operator")
    await _create(client, admin, "view-north", role="viewer")

    operators = (await client.get("/api/users?role=operator", headers=admin)).json()
    assert [user["username"] for user in operators["items"]] == ["op-north", "op-south"]
    assert operators["total"] == 2

    north = (await client.get("/api/users?search=NORTH", headers=admin)).json()
    assert {user["username"] for user in north["items"]} == {"op-north", "view-north"}

    page = (await client.get("/api/users?limit=2&page=2&sort=-username", headers=admin)).json()
    assert page["total"] == 4 and page["page"] == 2 and page["limit"] == 2  # the admin is the fourth
    assert [user["username"] for user in page["items"]] == ["op-north", page["items"][1]["username"]]

    bad = await client.get("/api/users?role=superuser&sort=password", headers=admin)
    assert bad.status_code == 422
    assert (await client.get("/api/users?sort=passwordHash", headers=admin)).status_code == 422


async def test_unknown_user_is_404(client: AsyncClient, admin: dict[str, str]) -> None:
    for answer in (
        await client.get("/api/users/9999", headers=admin),
        await client.put("/api/users/9999", json={"fullName": "x"}, headers=admin),
        await client.post("/api/users/9999/password", headers=admin),
        await client.delete("/api/users/9999", headers=admin),
    ):
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"body.username", "body.role"}),
        ({"username": "ab", "role": "viewer"}, {"body.username"}),
        ({"username": "a b c", "role": "viewer"}, {"body.username"}),
        ({"username": "<script>", "role": "viewer"}, {"body.username"}),
        ({"username": "x" * 65, "role": "viewer"}, {"body.username"}),
        ({"username": "okname", "role": "root"}, {"body.role"}),
        ({"username": "okname", "role": "viewer", "password": "short"}, {"body.password"}),
        ({"username": "okname", "role": "viewer", "email": "not-an-address"}, {"body.email"}),
        ({"username": "okname", "role": "viewer", "areaIds": ["north"]}, {"body.areaIds.0"}),
        ({"username": "okname", "role": "viewer", "isAdmin": True}, {"body.isAdmin"}),
        (
            {"username": "okname", "role": "viewer", "customerId": 0, "password": 5},
            {"body.customerId", "body.password"},
        ),
    ],
)
async def test_bad_account_bodies_list_every_problem(
    client: AsyncClient, admin: dict[str, str], body: dict[str, object], fields: set[str]
) -> None:
    answer = await client.post("/api/users", json=body, headers=admin)
    assert answer.status_code == 422, answer.text
    assert {problem["field"] for problem in answer.json()["error"]["details"]} == fields


async def test_customer_link_and_areas_are_checked_against_the_database(
    client: AsyncClient, admin: dict[str, str], runtime: Runtime
) -> None:
    no_customer = await client.post(
        "/api/users", json={"username": "cust1", "role": "customer", "areaIds": [404]}, headers=admin
    )
    assert no_customer.status_code == 422
    assert {p["field"] for p in no_customer.json()["error"]["details"]} == {"customerId", "areaIds"}

    unknown = await client.post(
        "/api/users", json={"username": "cust1", "role": "customer", "customerId": 77}, headers=admin
    )
    assert unknown.status_code == 422 and unknown.json()["error"]["details"][0]["field"] == "customerId"

    customer_id = await _customer(runtime)
    staff_with_customer = await client.post(
        "/api/users", json={"username": "op1", "role": "operator", "customerId": customer_id}, headers=admin
    )
    assert staff_with_customer.status_code == 422

    created = await _create(client, admin, "cust1", role="customer", customerId=customer_id)
    me = await _me(client, _bearer(await _login(client, "cust1", PASSWORD)))
    assert me["role"] == "customer" and me["customerId"] == customer_id == created["customerId"]

    listing = (await client.get("/api/users?search=op1", headers=admin)).json()
    assert listing["total"] == 0  # nothing half-written by the refused requests


async def test_duplicate_username_is_a_conflict_case_insensitively(client: AsyncClient, admin: dict[str, str]) -> None:
    await _create(client, admin, "Meter.Reader")
    answer = await client.post("/api/users", json={"username": "meter.reader", "role": "viewer"}, headers=admin)
    assert answer.status_code == 409 and answer.json()["error"]["details"][0]["field"] == "username"


async def test_the_name_hes_core_acts_under_is_reserved(client: AsyncClient, admin: dict[str, str]) -> None:
    answer = await client.post("/api/users", json={"username": "System", "role": "admin"}, headers=admin)
    assert answer.status_code == 422
    [problem] = answer.json()["error"]["details"]
    assert problem["field"] == "username" and "reserved" in problem["message"]


async def test_area_limits_restrict_what_the_user_sees(client: AsyncClient, admin: dict[str, str]) -> None:
    north = (await client.post("/api/areas", json={"code": "N", "name": "North"}, headers=admin)).json()
    await client.post("/api/areas", json={"code": "S", "name": "South"}, headers=admin)
    created = await _create(client, admin, "north-viewer", areaIds=[north["id"]])
    assert created["areaIds"] == [north["id"]]

    viewer = _bearer(await _login(client, "north-viewer", PASSWORD))
    assert (await _me(client, viewer))["areaIds"] == [north["id"]]
    visible = (await client.get("/api/areas", headers=viewer)).json()
    assert [area["code"] for area in visible["items"]] == ["N"]

    widened = await client.put(f"/api/users/{created['id']}", json={"areaIds": []}, headers=admin)
    assert widened.status_code == 200 and widened.json()["areaIds"] == []
    assert (await client.get("/api/areas", headers=viewer)).json()["total"] == 2  # at once, same token


async def test_update_changes_only_the_fields_sent(client: AsyncClient, admin: dict[str, str]) -> None:
    created = await _create(client, admin, "clerk", fullName="Clerk One", email="clerk@example.com")
    answer = await client.put(f"/api/users/{created['id']}", json={"fullName": "Clerk Two"}, headers=admin)
    assert answer.status_code == 200
    assert answer.json()["fullName"] == "Clerk Two" and answer.json()["email"] == "clerk@example.com"

    cleared = await client.put(f"/api/users/{created['id']}", json={"email": None}, headers=admin)
    assert cleared.json()["email"] is None

    for body in ({"role": None}, {"isActive": None}, {"areaIds": None}, {"username": "renamed"}, {"role": "god"}):
        refused = await client.put(f"/api/users/{created['id']}", json=body, headers=admin)
        assert refused.status_code == 422, body


async def test_role_change_signs_the_user_out_at_once(client: AsyncClient, admin: dict[str, str]) -> None:
    created = await _create(client, admin, "promoted", role="viewer")
    tokens = await _login(client, "promoted", PASSWORD)

    answer = await client.put(f"/api/users/{created['id']}", json={"role": "operator"}, headers=admin)
    assert answer.status_code == 200 and answer.json()["role"] == "operator"

    assert (await client.get("/api/auth/me", headers=_bearer(tokens))).status_code == 401
    refresh = await client.post("/api/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert refresh.status_code == 401
    fresh = await _login(client, "promoted", PASSWORD)
    assert (await _me(client, _bearer(fresh)))["role"] == "operator"


async def test_leaving_the_customer_role_drops_the_customer_link(
    client: AsyncClient, admin: dict[str, str], runtime: Runtime
) -> None:
    customer_id = await _customer(runtime)
    created = await _create(client, admin, "former-customer", role="customer", customerId=customer_id)
    answer = await client.put(f"/api/users/{created['id']}", json={"role": "viewer"}, headers=admin)
    assert answer.status_code == 200 and answer.json()["customerId"] is None
    back = await client.put(f"/api/users/{created['id']}", json={"role": "customer"}, headers=admin)
    assert back.status_code == 422 and back.json()["error"]["details"][0]["field"] == "customerId"


async def test_admin_sets_or_generates_a_password_and_old_sessions_end(
    client: AsyncClient, admin: dict[str, str]
) -> None:
    created = await _create(client, admin, "forgetful")
    tokens = await _login(client, "forgetful", PASSWORD)

    chosen = await client.post(f"/api/users/{created['id']}/password", json={"password": NEW_PASSWORD}, headers=admin)
    assert chosen.status_code == 200 and chosen.json()["generatedPassword"] is None
    assert "passwordHash" not in chosen.json()
    assert (await client.get("/api/auth/me", headers=_bearer(tokens))).status_code == 401
    assert (await client.post("/api/auth/refresh", json={"refreshToken": tokens["refreshToken"]})).status_code == 401
    wrong = await client.post("/api/auth/login", json={"username": "forgetful", "password": PASSWORD})
    assert wrong.status_code == 401
    await _login(client, "forgetful", NEW_PASSWORD)

    for request in (
        client.post(f"/api/users/{created['id']}/password", headers=admin),
        client.post(f"/api/users/{created['id']}/password", json={}, headers=admin),
        client.post(f"/api/users/{created['id']}/password", json={"password": None}, headers=admin),
    ):
        generated = (await request).json()["generatedPassword"]
        assert isinstance(generated, str) and len(generated) >= 10
    await _login(client, "forgetful", generated)

    short = await client.post(f"/api/users/{created['id']}/password", json={"password": "short"}, headers=admin)
    assert short.status_code == 422


async def test_delete_deactivates_and_keeps_the_name(client: AsyncClient, admin: dict[str, str]) -> None:
    created = await _create(client, admin, "leaver")
    tokens = await _login(client, "leaver", PASSWORD)

    answer = await client.delete(f"/api/users/{created['id']}", headers=admin)
    assert answer.status_code == 204
    assert (await client.delete(f"/api/users/{created['id']}", headers=admin)).status_code == 204  # idempotent

    assert (await client.get("/api/auth/me", headers=_bearer(tokens))).status_code == 401
    assert (await client.post("/api/auth/refresh", json={"refreshToken": tokens["refreshToken"]})).status_code == 401
    login = await client.post("/api/auth/login", json={"username": "leaver", "password": PASSWORD})
    assert login.status_code == 401

    kept = (await client.get(f"/api/users/{created['id']}", headers=admin)).json()
    assert kept["username"] == "leaver" and kept["isActive"] is False
    inactive = (await client.get("/api/users?isActive=false", headers=admin)).json()
    assert [user["username"] for user in inactive["items"]] == ["leaver"]

    reactivated = await client.put(f"/api/users/{created['id']}", json={"isActive": True}, headers=admin)
    assert reactivated.status_code == 200 and reactivated.json()["isActive"] is True
    assert (await client.get("/api/auth/me", headers=_bearer(tokens))).status_code == 401  # old tokens stay dead
    await _login(client, "leaver", PASSWORD)


async def test_the_last_admin_stays_and_no_admin_deactivates_themself(
    client: AsyncClient, admin: dict[str, str]
) -> None:
    me = await _me(client, admin)
    own = f"/api/users/{me['id']}"
    for answer in (
        await client.put(own, json={"role": "operator"}, headers=admin),
        await client.put(own, json={"isActive": False}, headers=admin),
        await client.delete(own, headers=admin),
    ):
        assert answer.status_code == 409 and answer.json()["error"]["code"] == "conflict"
    assert (await _me(client, admin))["role"] == "admin"  # refused changes left the token working

    second = await _create(client, admin, "second-admin", role="admin")
    second_admin = _bearer(await _login(client, "second-admin", PASSWORD))
    assert (await client.delete(own, headers=admin)).status_code == 409  # still not themself
    demoted = await client.put(own, json={"role": "operator"}, headers=admin)
    assert demoted.status_code == 200
    assert (await client.get("/api/auth/me", headers=admin)).status_code == 401

    last = await client.put(f"/api/users/{second['id']}", json={"role": "viewer"}, headers=second_admin)
    assert last.status_code == 409
    assert (await client.delete(own, headers=second_admin)).status_code == 204


async def test_every_change_is_in_the_audit_log(client: AsyncClient, admin: dict[str, str]) -> None:
    me = await _me(client, admin)
    created = await _create(client, admin, "audited")
    await client.put(f"/api/users/{created['id']}", json={"role": "operator", "fullName": "Au Dited"}, headers=admin)
    await client.post(f"/api/users/{created['id']}/password", headers=admin)
    await client.delete(f"/api/users/{created['id']}", headers=admin)
    await client.put(f"/api/users/{me['id']}", json={"isActive": False}, headers=admin)  # refused: no row

    rows = (await client.get(f"/api/audit?entity=user&actor={me['username']}", headers=admin)).json()["items"]
    mine = [row for row in rows if row["entityId"] == str(created["id"])]
    assert [row["action"] for row in mine] == ["deactivate", "set_password", "update", "create"]
    assert mine[2]["details"] == {"username": "audited", "role": "operator", "full_name": "Au Dited"}
    assert all(row["details"]["username"] == "audited" for row in mine)
    assert not [row for row in rows if row["entityId"] == str(me["id"]) and row["action"] != "login"]


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.VIEWER, Role.CUSTOMER])
async def test_only_admins_manage_users(
    client: AsyncClient, login_as: UserFactory, runtime: Runtime, admin: dict[str, str], role: Role
) -> None:
    customer_id = await _customer(runtime) if role is Role.CUSTOMER else None
    headers = await login_as(role, customer_id=customer_id)
    target = await _create(client, admin, "target")
    for answer in (
        await client.get("/api/users", headers=headers),
        await client.get(f"/api/users/{target['id']}", headers=headers),
        await client.post("/api/users", json={"username": "sneaky", "role": "admin"}, headers=headers),
        await client.put(f"/api/users/{target['id']}", json={"role": "admin"}, headers=headers),
        await client.post(f"/api/users/{target['id']}/password", headers=headers),
        await client.delete(f"/api/users/{target['id']}", headers=headers),
    ):
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden"
    assert (await client.get(f"/api/users/{target['id']}", headers=admin)).json()["role"] == "viewer"


async def test_list_filters_by_area_including_sub_areas(client: AsyncClient, admin: dict[str, str]) -> None:
    region = (await client.post("/api/areas", json={"code": "REG", "name": "Region"}, headers=admin)).json()
    district = await client.post(
        "/api/areas", json={"code": "REG-1", "name": "District", "parentId": region["id"]}, headers=admin
    )
    for username, area_ids in (("north.op", [district.json()["id"]]), ("all.op", [])):
        body = {"username": username, "role": "operator", "password": "long-enough-pw", "areaIds": area_ids}
        assert (await client.post("/api/users", json=body, headers=admin)).status_code == 201
    listing = (await client.get("/api/users?area=REG", headers=admin)).json()
    assert [user["username"] for user in listing["items"]] == ["north.op"]
    unknown = await client.get("/api/users?area=NOWHERE", headers=admin)
    assert unknown.status_code == 422 and unknown.json()["error"]["details"][0]["field"] == "area"
