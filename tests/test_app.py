"""The assembled app: its OpenAPI document, operation ids, and the error shape for unknown paths."""

from __future__ import annotations

from httpx import AsyncClient


async def test_openapi_documents_every_route_with_tagged_operation_ids(client: AsyncClient) -> None:
    answer = await client.get("/openapi.json")
    assert answer.status_code == 200
    operations = [
        (path, operation)
        for path, methods in answer.json()["paths"].items()
        for operation in methods.values()
        if isinstance(operation, dict)
    ]
    ids = [operation["operationId"] for _, operation in operations]
    assert len(ids) == len(set(ids))
    assert all(operation["operationId"].startswith(operation["tags"][0] + "-") for _, operation in operations)
    paths = {path for path, _ in operations}
    for seed_path in (
        "/api/meters",
        "/api/meters/{meter_id}",
        "/api/customers",
        "/api/sims",
        "/api/areas",
        "/api/meters/import",
        "/api/templates/{name}",
        "/api/auth/login",
        "/health",
    ):
        assert seed_path in paths


async def test_docs_page_is_served(client: AsyncClient) -> None:
    answer = await client.get("/docs")
    assert answer.status_code == 200 and "swagger" in answer.text.lower()


async def test_wrong_method_answers_in_the_error_shape(client: AsyncClient) -> None:
    answer = await client.patch("/api/areas")
    assert answer.status_code == 405
    assert answer.json()["error"]["code"] == "method_not_allowed"


async def test_malformed_json_is_a_422_in_the_error_shape(client: AsyncClient, operator: dict[str, str]) -> None:
    answer = await client.post(
        "/api/areas", content=b'{"code": "A", "name": ', headers={**operator, "content-type": "application/json"}
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_input"
