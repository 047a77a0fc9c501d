"""Every HTTP route declares exactly one access rule, and enforces it against every kind of caller.

Generic on purpose: routes added later are walked and called like the ones that exist today.
"""

from __future__ import annotations

import re
import secrets
import typing
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from httpx import ASGITransport, AsyncClient

from hes.api.deps import ACCESS_RULE_ATTRIBUTE
from hes.db.enums import Role
from hes.db.tables import Customer
from hes.runtime import Runtime
from hes.security.tokens import TokenKind, issue_token, new_claims
from hes.services import users
from tests.conftest import PASSWORD

PUBLIC = "public"
EXPECTED_PUBLIC_PATHS = {"/health", "/metrics", "/api/auth/login", "/api/auth/refresh"}
BODY_METHODS = {"POST", "PUT", "PATCH"}

# Plausible values for string path parameters, by a word in the parameter's name; anything else gets "TEST-1".
_STRING_SAMPLES = (
    ("obis", "1-0:1.8.0.255"),
    ("iccid", "8923400000000000001"),
    ("imsi", "621200000000001"),
    ("msisdn", "2348030000001"),
    ("account", "ACC-0001"),
    ("meter", "MTR-0001"),
    ("sim", "SIM-0001"),
    ("area", "NORTH"),
    ("code", "NORTH"),
    ("date", "2024-01-31"),
)


def _access_rules(dependant: Dependant) -> list[Callable[..., Any]]:
    """The distinct access-rule callables anywhere in a route's dependency tree."""
    found: dict[int, Callable[..., Any]] = {}

    def walk(node: Dependant) -> None:
        for sub in node.dependencies:
            if sub.call is not None and hasattr(sub.call, ACCESS_RULE_ATTRIBUTE):
                found[id(sub.call)] = sub.call
            walk(sub)

    walk(dependant)
    return list(found.values())


@dataclass(frozen=True)
class Endpoint:
    """An API route as the app serves it: full path, methods and the whole dependency tree."""

    path: str
    methods: frozenset[str]
    dependant: Dependant


def _api_routes(app: FastAPI) -> list[Endpoint]:
    """Every APIRoute of the app, including those of included routers."""
    try:
        # FastAPI >= 0.160 keeps included routers as such in app.routes; this walks into them and gives
        # each route with the dependencies and prefix of its inclusion.
        from fastapi.routing import iter_route_contexts
    except ImportError:
        return [
            Endpoint(route.path, frozenset(route.methods or ()), route.dependant)
            for route in app.routes
            if isinstance(route, APIRoute)
        ]
    return [
        Endpoint(str(context.path), frozenset(context.methods or ()), context.dependant)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
    ]


def _rule(route: Endpoint) -> frozenset[Role] | str | None:
    rules = _access_rules(route.dependant)
    return getattr(rules[0], ACCESS_RULE_ATTRIBUTE) if len(rules) == 1 else None


def _path_params(dependant: Dependant) -> Iterator[tuple[str, Any]]:
    for field in dependant.path_params:
        yield field.alias, field.field_info.annotation
    for sub in dependant.dependencies:
        yield from _path_params(sub)


def _sample(name: str, annotation: Any) -> str:
    """A value for a path parameter: 1 for numbers, a plausible identifier for text."""
    kinds = [kind for kind in typing.get_args(annotation) if kind is not type(None)] or [annotation]
    kind = kinds[0]
    if isinstance(kind, type) and issubclass(kind, Enum):
        return str(next(iter(kind)).value)
    if kind in (int, float):
        return "1"
    if kind is date:
        return "2024-01-31"
    if kind is datetime:
        return "2024-01-31T00:00:00Z"
    lowered = name.lower()
    return next((value for word, value in _STRING_SAMPLES if word in lowered), "TEST-1")


def _url(route: Endpoint) -> str:
    values = {name: _sample(name, annotation) for name, annotation in _path_params(route.dependant)}
    # "{name}" or "{name:converter}" in the template.
    url = re.sub(r"\{([^}:]+)(:[^}]*)?\}", lambda match: values.get(match[1], match[0]), route.path)
    assert "{" not in url, f"unfilled path parameter in {route.path}"
    return url


@dataclass(frozen=True)
class Caller:
    """One kind of caller: a name, its headers, and its role when the token is valid."""

    name: str
    headers: dict[str, str]
    role: Role | None = None


@pytest.fixture
async def matrix_client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    """A client that answers a crash with its 500 instead of raising, so every crash is listed."""
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://hes.test") as http:
        yield http


@pytest.fixture
async def callers(matrix_client: AsyncClient, runtime: Runtime) -> list[Caller]:
    """Callers with no, forged, expired and wrong-kind tokens, then one valid token per role."""
    async with runtime.sessions() as session:
        # Created first, so that id 1 (used for every path parameter) is a throwaway account and customer:
        # the calls below may deactivate user 1 or re-key its password without disturbing the callers.
        await users.create_user(session, "test", users.NewUser("throwaway", PASSWORD, Role.VIEWER))
        session.add(Customer(account_number="ACC-THROWAWAY", customer_name="Throwaway"))
        own_customer = Customer(account_number="ACC-OWN", customer_name="Signed-in customer")
        session.add(own_customer)
        await session.commit()
        ids: dict[Role, int] = {}
        for role in Role:
            customer_id = own_customer.id if role is Role.CUSTOMER else None
            new_user = users.NewUser(f"matrix-{role.value}", PASSWORD, role, customer_id=customer_id)
            ids[role] = (await users.create_user(session, "test", new_user)).id

    tokens: dict[Role, dict[str, Any]] = {}
    for role in Role:
        answer = await matrix_client.post(
            "/api/auth/login", json={"username": f"matrix-{role.value}", "password": PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        tokens[role] = answer.json()

    secret = runtime.settings.resolved_jwt_secret
    admin_id = ids[Role.ADMIN]
    forged = new_claims(admin_id, "matrix-admin", Role.ADMIN, 0, TokenKind.ACCESS, timedelta(minutes=15))
    expired = new_claims(admin_id, "matrix-admin", Role.ADMIN, 0, TokenKind.ACCESS, timedelta(minutes=-5))

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    return [
        Caller("no token", {}),
        Caller("forged token", bearer(issue_token(forged, secrets.token_hex(32)))),
        Caller("expired token", bearer(issue_token(expired, secret))),
        Caller("refresh token as access token", bearer(tokens[Role.ADMIN]["refreshToken"])),
        *(Caller(f"{role.value} token", bearer(tokens[role]["accessToken"]), role) for role in Role),
    ]


def test_every_route_declares_exactly_one_access_rule(app: FastAPI) -> None:
    problems = []
    for route in _api_routes(app):
        rules = _access_rules(route.dependant)
        if len(rules) != 1:
            shown = [getattr(rule, ACCESS_RULE_ATTRIBUTE) for rule in rules]
            problems.append(f"{sorted(route.methods)} {route.path}: {len(rules)} access rules {shown}")
    assert problems == [], "\n".join(problems)


def test_only_health_metrics_login_and_refresh_are_public(app: FastAPI) -> None:
    public = {route.path for route in _api_routes(app) if _rule(route) == PUBLIC}
    assert public == EXPECTED_PUBLIC_PATHS


def _expectation(rule: frozenset[Role] | str | None, caller: Caller) -> str:
    """What a caller must get from a route: "401", "403" or "through" (neither)."""
    if rule == PUBLIC:
        return "through"
    if caller.role is None:
        return "401"
    assert isinstance(rule, frozenset)
    return "through" if caller.role in rule else "403"


async def test_every_route_enforces_its_rule_for_every_caller(
    app: FastAPI, matrix_client: AsyncClient, callers: list[Caller]
) -> None:
    problems = []
    calls = 0
    for route in _api_routes(app):
        rule = _rule(route)
        if rule is None:
            problems.append(f"{route.path}: no single access rule (see the test above)")
            continue
        url = _url(route)
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            for caller in callers:
                body: dict[str, object] | None = {} if method in BODY_METHODS else None
                answer = await matrix_client.request(method, url, headers=caller.headers, json=body)
                calls += 1
                expected = _expectation(rule, caller)
                status = answer.status_code
                wrong = (
                    status >= 500
                    or (expected == "401" and status != 401)
                    or (expected == "403" and status != 403)
                    or (expected == "through" and status in (401, 403))
                )
                if wrong:
                    problems.append(
                        f"{method} {url} as {caller.name}: {status}, expected {expected}: {answer.text[:200]}"
                    )
    assert calls >= 8 * len(EXPECTED_PUBLIC_PATHS)
    assert problems == [], "\n".join(problems)


async def test_error_answers_of_refused_callers_have_the_error_shape(
    matrix_client: AsyncClient, callers: list[Caller]
) -> None:
    for caller in callers:
        answer = await matrix_client.get("/api/users", headers=caller.headers)
        if caller.role is Role.ADMIN:
            assert answer.status_code == 200
            continue
        expected = ("forbidden", 403) if caller.role else ("unauthorized", 401)
        assert (answer.json()["error"]["code"], answer.status_code) == expected, caller.name
        assert set(answer.json()["error"]) == {"code", "message", "details"}
