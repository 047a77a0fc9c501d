"""Signing in over HTTP: login, refresh, me, own password change, revocation, rate limit, bad bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient

from hes.app import create_app
from hes.config import Settings
from hes.db.enums import Role
from hes.db.tables import Customer
from hes.runtime import Runtime
from hes.services import users
from tests.conftest import PASSWORD, UserFactory

NEW_PASSWORD = "another-long-password"


async def _add_user(runtime: Runtime, username: str, role: Role = Role.VIEWER, customer_id: int | None = None) -> int:
    async with runtime.sessions() as session:
        user = await users.create_user(
            session, "test", users.NewUser(username, PASSWORD, role, customer_id=customer_id)
        )
        return user.id


async def _login(client: AsyncClient, username: str, password: str = PASSWORD) -> dict[str, Any]:
    answer = await client.post("/api/auth/login", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def limited_client(settings: Settings, runtime: Runtime) -> AsyncIterator[AsyncClient]:
    """A client on an app that allows 3 login attempts a minute (the suite's default is generous)."""
    strict = settings.model_copy(update={"login_rate_limit": "3/minute"})
    application = create_app(strict)
    async with (
        LifespanManager(application, startup_timeout=30, shutdown_timeout=60),
        AsyncClient(transport=ASGITransport(app=application), base_url="http://hes.test") as http,
    ):
        yield http


async def test_login_answers_tokens_and_the_user(client: AsyncClient, runtime: Runtime) -> None:
    user_id = await _add_user(runtime, "Grid.Operator", Role.OPERATOR)
    answer = await _login(client, "grid.operator")  # usernames are case-insensitive
    assert answer["accessToken"] and answer["refreshToken"] and answer["tokenType"] == "bearer"
    assert answer["expiresIn"] == 15 * 60
    assert answer["user"] == {
        "id": user_id,
        "username": "Grid.Operator",
        "role": "operator",
        "fullName": None,
        "customerId": None,
    }
    me = await client.get("/api/auth/me", headers=_bearer(answer["accessToken"]))
    assert me.json() == {
        "id": user_id,
        "username": "Grid.Operator",
        "role": "operator",
        "customerId": None,
        "areaIds": [],
    }


async def test_wrong_password_unknown_user_and_disabled_account_look_the_same(
    client: AsyncClient, runtime: Runtime, admin: dict[str, str]
) -> None:
    user_id = await _add_user(runtime, "leaving")
    wrong_password = await client.post("/api/auth/login", json={"username": "leaving", "password": "nope-nope-nope"})
    unknown_user = await client.post("/api/auth/login", json={"username": "nobody", "password": PASSWORD})
    assert (await client.delete(f"/api/users/{user_id}", headers=admin)).status_code == 204
    disabled = await client.post("/api/auth/login", json={"username": "leaving", "password": PASSWORD})
    for answer in (wrong_password, unknown_user, disabled):
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"
        assert answer.json() == {
            "error": {"code": "unauthorized", "message": "wrong username or password", "details": []}
        }


async def test_login_attempts_are_rate_limited(limited_client: AsyncClient, runtime: Runtime) -> None:
    await _add_user(runtime, "hammered")
    for _ in range(3):
        answer = await limited_client.post("/api/auth/login", json={"username": "hammered", "password": "guess-guess"})
        assert answer.status_code == 401
    # Past the limit even the right password is refused, so guessing gains nothing.
    blocked = await limited_client.post("/api/auth/login", json={"username": "hammered", "password": PASSWORD})
    assert blocked.status_code == 429
    error = blocked.json()["error"]
    assert error["code"] == "rate_limited" and "3 per 1 minute" in error["message"] and error["details"] == []


async def test_refresh_trades_a_refresh_token_for_a_new_pair(client: AsyncClient, runtime: Runtime) -> None:
    await _add_user(runtime, "refresher")
    tokens = await _login(client, "refresher")
    answer = await client.post("/api/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert answer.status_code == 200
    fresh = answer.json()
    assert fresh["user"]["username"] == "refresher"
    assert (await client.get("/api/auth/me", headers=_bearer(fresh["accessToken"]))).status_code == 200


async def test_token_kinds_cannot_stand_in_for_each_other(client: AsyncClient, runtime: Runtime) -> None:
    await _add_user(runtime, "mixer")
    tokens = await _login(client, "mixer")
    as_access = await client.get("/api/auth/me", headers=_bearer(tokens["refreshToken"]))
    assert as_access.status_code == 401 and as_access.json()["error"]["code"] == "unauthorized"
    as_refresh = await client.post("/api/auth/refresh", json={"refreshToken": tokens["accessToken"]})
    assert as_refresh.status_code == 401
    garbage = await client.post("/api/auth/refresh", json={"refreshToken": "not.a.token"})
    assert garbage.status_code == 401


@pytest.mark.parametrize("role", list(Role))
async def test_me_describes_each_role(client: AsyncClient, login_as: UserFactory, runtime: Runtime, role: Role) -> None:
    customer_id = None
    if role is Role.CUSTOMER:
        async with runtime.sessions() as session:
            customer = Customer(account_number="ACC-9", customer_name="Bola Ade")
            session.add(customer)
            await session.commit()
            customer_id = customer.id
    headers = await login_as(role, username=f"the-{role.value}", customer_id=customer_id)
    me = (await client.get("/api/auth/me", headers=headers)).json()
    assert me["username"] == f"the-{role.value}" and me["role"] == role.value
    assert me["customerId"] == customer_id and me["areaIds"] == []


async def test_me_without_a_token_is_401(client: AsyncClient) -> None:
    answer = await client.get("/api/auth/me")
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "unauthorized"
    basic = await client.get("/api/auth/me", headers={"Authorization": "Basic YWRtaW46YWRtaW4="})
    assert basic.status_code == 401


async def test_changing_your_own_password_ends_every_other_session(client: AsyncClient, runtime: Runtime) -> None:
    await _add_user(runtime, "careful", Role.VIEWER)
    first = await _login(client, "careful")
    second = await _login(client, "careful")

    answer = await client.post(
        "/api/auth/password",
        json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
        headers=_bearer(first["accessToken"]),
    )
    assert answer.status_code == 200
    fresh = answer.json()
    assert (await client.get("/api/auth/me", headers=_bearer(fresh["accessToken"]))).status_code == 200
    for old in (first, second):
        assert (await client.get("/api/auth/me", headers=_bearer(old["accessToken"]))).status_code == 401
        assert (await client.post("/api/auth/refresh", json={"refreshToken": old["refreshToken"]})).status_code == 401

    refused = await client.post("/api/auth/login", json={"username": "careful", "password": PASSWORD})
    assert refused.status_code == 401
    await _login(client, "careful", NEW_PASSWORD)


async def test_own_password_change_checks_both_passwords(client: AsyncClient, runtime: Runtime) -> None:
    await _add_user(runtime, "sloppy")
    tokens = await _login(client, "sloppy")
    headers = _bearer(tokens["accessToken"])

    wrong = await client.post(
        "/api/auth/password", json={"currentPassword": "not-my-password", "newPassword": NEW_PASSWORD}, headers=headers
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["details"][0]["field"] == "currentPassword"
    short = await client.post(
        "/api/auth/password", json={"currentPassword": PASSWORD, "newPassword": "short"}, headers=headers
    )
    assert short.status_code == 422 and short.json()["error"]["details"][0]["field"] == "body.newPassword"
    missing = await client.post("/api/auth/password", json={}, headers=headers)
    assert {p["field"] for p in missing.json()["error"]["details"]} == {"body.currentPassword", "body.newPassword"}

    assert (await client.get("/api/auth/me", headers=headers)).status_code == 200  # nothing changed
    await _login(client, "sloppy")
    no_token = await client.post("/api/auth/password", json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD})
    assert no_token.status_code == 401


async def test_guessing_the_current_password_is_rate_limited(limited_client: AsyncClient, runtime: Runtime) -> None:
    await _add_user(runtime, "stolen-token")
    tokens = (
        await limited_client.post("/api/auth/login", json={"username": "stolen-token", "password": PASSWORD})
    ).json()
    headers = _bearer(tokens["accessToken"])
    codes = []
    for _ in range(3):
        answer = await limited_client.post(
            "/api/auth/password", json={"currentPassword": "guess-guess", "newPassword": NEW_PASSWORD}, headers=headers
        )
        codes.append(answer.status_code)
    assert codes == [422, 422, 429]  # the login above used the first of the 3 attempts


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"body.username", "body.password"}),
        ({"username": "admin"}, {"body.password"}),
        ({"username": 12, "password": ["x"]}, {"body.username", "body.password"}),
        ({"username": "u" * 10_000, "password": "x"}, {"body.username"}),
        ({"username": "", "password": ""}, {"body.username", "body.password"}),
        ({"username": "admin", "password": "x", "remember": True}, {"body.remember"}),
        ([], {"body"}),
    ],
)
async def test_malformed_login_bodies_are_422(client: AsyncClient, body: object, fields: set[str]) -> None:
    answer = await client.post("/api/auth/login", json=body)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "invalid_input"
    assert {problem["field"] for problem in error["details"]} == fields


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"username=admin&password=x", "application/x-www-form-urlencoded"),
        (b"{not json", "application/json"),
        (b"", "application/json"),
        (b"\xff\xfe", "application/json"),
        (b"plain words", "text/plain"),
    ],
)
async def test_non_json_bodies_are_422(client: AsyncClient, content: bytes, content_type: str) -> None:
    for path in ("/api/auth/login", "/api/auth/refresh"):
        answer = await client.post(path, content=content, headers={"Content-Type": content_type})
        assert answer.status_code == 422, (path, answer.text)
        assert answer.json()["error"]["code"] == "invalid_input"


async def test_malformed_refresh_bodies_are_422(client: AsyncClient) -> None:
    for body in ({}, {"refreshToken": ""}, {"refreshToken": 5}, {"refreshToken": "x" * 5000}, {"token": "x"}):
        answer = await client.post("/api/auth/refresh", json=body)
        assert answer.status_code == 422, body
