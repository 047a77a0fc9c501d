"""Broken encodings anywhere in a request get a 4xx in the error shape, never a 500."""

from __future__ import annotations

import pytest
from httpx import AsyncClient


@pytest.mark.parametrize(
    "body",
    [
        b'{"code": "\xff\xfe", "name": "x"}',  # not UTF-8
        b'{"code": "A\x00", "name": "x"}',  # NUL byte
        b'{"code": "A", "name": "\\ud800"}',  # lone surrogate escape
        b"\xef\xbb\xbf" + b'{"code": "A", "name": "x"',  # BOM and truncated
        b"[1, 2, 3]",  # JSON, wrong shape
        b"",  # empty
    ],
)
async def test_broken_json_bodies_are_refused_with_a_4xx(
    client: AsyncClient, operator: dict[str, str], body: bytes
) -> None:
    answer = await client.post("/api/areas", content=body, headers={**operator, "content-type": "application/json"})
    assert 400 <= answer.status_code < 500, answer.text
    assert set(answer.json()["error"]) == {"code", "message", "details"}
    listing = await client.get("/api/areas", headers=operator)
    assert listing.json()["total"] == 0


@pytest.mark.parametrize(
    "query",
    ["search=%ff%fe", "search=%00", "page=%ff", "limit=1e3", "sort=%27%3B%20DROP%20TABLE%20meters%3B--", "area=%E2%80"],
)
async def test_broken_query_strings_are_refused_or_harmless(
    client: AsyncClient, operator: dict[str, str], query: str
) -> None:
    answer = await client.get(f"/api/meters?{query}", headers=operator)
    assert answer.status_code in (200, 422), answer.text
    if answer.status_code == 422:
        assert answer.json()["error"]["details"]
    assert (await client.get("/api/meters", headers=operator)).status_code == 200


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/auth/login", {"username": "admin\x00", "password": "whatever-long"}),
        ("/api/customers", {"customerName": "Ada\x00", "accountNumber": "ACC-1"}),
        ("/api/meters", {"meterNumber": "M-1", "brand": "Hex\x00ing"}),
    ],
)
async def test_nul_characters_in_bodies_are_a_422(
    client: AsyncClient, operator: dict[str, str], path: str, body: dict[str, str]
) -> None:
    answer = await client.post(path, json=body, headers=operator)
    assert answer.status_code == 422, answer.text
