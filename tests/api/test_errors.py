"""Every failure answers in the one error shape, with the right status: bad values 4xx, outages 503, bugs 500."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.exc import DBAPIError

from hes.api.errors import install_error_handlers


@pytest.mark.parametrize(
    "url",
    [
        "/api/meters/9999999999",
        "/api/areas/99999999999999999999",
        "/api/meters?customerId=9999999999",
        "/api/areas?parentId=9999999999",
        "/api/users/9999999999",
        "/api/meters/9999999999/readings",
        "/api/meters/0",
    ],
)
async def test_ids_beyond_the_database_range_are_a_422(client: AsyncClient, admin: dict[str, str], url: str) -> None:
    answer = await client.get(url, headers=admin)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["details"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/meters", {"meterNumber": "M-9", "areaId": 9999999999}),
        ("/api/customers", {"customerName": "x", "accountNumber": "A-1", "areaId": 99999999999}),
        ("/api/areas", {"code": "X", "name": "X", "parentId": 2**40}),
    ],
)
async def test_ids_beyond_the_database_range_in_bodies_are_a_422(
    client: AsyncClient, admin: dict[str, str], path: str, body: dict[str, object]
) -> None:
    answer = await client.post(path, json=body, headers=admin)
    assert answer.status_code == 422, answer.text


def _app_raising(error: Exception) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise error

    return app


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (DBAPIError("SELECT $1", (2**40,), ValueError("value out of int32 range")), 422, "invalid_input"),
        (DBAPIError("SELECT 1", None, ConnectionRefusedError("connect failed")), 503, "database_unavailable"),
        (ConnectionRefusedError("connect failed"), 503, "database_unavailable"),
        (RuntimeError("a bug"), 500, "internal_error"),
    ],
)
async def test_unexpected_errors_map_to_status_and_shape(error: Exception, status: int, code: str) -> None:
    transport = ASGITransport(app=_app_raising(error), raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://hes.test") as http:
        answer = await http.get("/boom")
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code
    assert "a bug" not in answer.text  # internals never leak
