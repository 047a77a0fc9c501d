"""/health, /metrics and the answer to unknown paths."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient

from hes.app import create_app
from hes.config import Settings


@pytest.fixture
async def client_without_database(settings: Settings) -> AsyncIterator[AsyncClient]:
    """An app whose PostgreSQL is unreachable (closed loopback port); it must still start."""
    down = settings.model_copy(
        update={"database_url": "postgresql://hes@127.0.0.1:1/hes", "admin_password": "first-admin-password"}
    )
    application = create_app(down)
    async with (
        LifespanManager(application, startup_timeout=30, shutdown_timeout=60),
        AsyncClient(transport=ASGITransport(app=application), base_url="http://hes.test") as http,
    ):
        yield http


async def test_health_reports_the_database(client: AsyncClient) -> None:
    answer = await client.get("/health")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok" and answer.json()["database"] == "ok"


async def test_health_is_503_when_the_database_is_down(
    client_without_database: AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    started = [record.getMessage() for record in caplog.get_records("setup")]
    assert any("first administrator" in message and "unavailable" in message for message in started)
    answer = await client_without_database.get("/health")
    assert answer.status_code == 503
    assert answer.json()["status"] == "unavailable" and answer.json()["database"] == "unavailable"


async def test_requests_needing_the_database_are_503_when_it_is_down(client_without_database: AsyncClient) -> None:
    answer = await client_without_database.post("/api/auth/login", json={"username": "admin", "password": "x" * 12})
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "database_unavailable"


async def test_metrics_are_prometheus_text(client: AsyncClient) -> None:
    await client.get("/health")
    answer = await client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert 'hes_http_requests_total{method="GET",route="/health",status="200"}' in answer.text


async def test_unknown_path_is_404_in_the_error_shape(client: AsyncClient) -> None:
    answer = await client.get("/api/no-such-thing")
    assert answer.status_code == 404
    assert answer.json() == {"error": {"code": "not_found", "message": "Not Found", "details": []}}
    wrong_method = await client.patch("/health")
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]["code"] == "method_not_allowed"
