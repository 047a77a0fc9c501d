"""POST /api/meters/data-ingestion with device tokens; issuing, rotating and revoking those tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient

from hes.app import create_app
from hes.config import Settings
from hes.runtime import Runtime
from tests.conftest import UserFactory
from tests.ingest.fleet import ENERGY, VOLTAGE, add_meters, bearer, count_readings, device_token, readings

URL = "/api/meters/data-ingestion"


async def _post(client: AsyncClient, token: str, body: object) -> Any:
    answer = await client.post(URL, json=body, headers=bearer(token))
    assert answer.status_code == 202, answer.text
    return answer.json()


async def test_an_operator_issues_a_token_and_the_meter_sends_readings_once(
    client: AsyncClient, runtime: Runtime, operator: dict[str, str]
) -> None:
    meter = (await add_meters(runtime, ["HT-1"]))["HT-1"]
    issued = await client.post(f"/api/meters/{meter}/device-token", headers=operator)
    assert issued.status_code == 201, issued.text
    assert issued.json()["scope"] == "meter" and issued.json()["rotated"] == 0
    token = issued.json()["token"]
    body = {"readings": readings("HT-1", 6) + readings("HT-1", 2, obis=VOLTAGE)}
    assert await _post(client, token, body) == {
        "accepted": 8,
        "duplicates": 0,
        "eventsAccepted": 0,
        "eventsDuplicates": 0,
        "rejected": [],
    }
    # A replayed batch (the sender never saw the answer) is not an error and stores nothing twice.
    replay = await _post(client, token, body)
    assert (replay["accepted"], replay["duplicates"]) == (0, 8)
    assert await count_readings(runtime, meter) == 8
    latest = await client.get(f"/api/meters/{meter}/readings/latest", headers=operator)
    assert {row["obis"] for row in latest.json()} == {ENERGY, VOLTAGE}


async def test_values_are_stored_in_their_codes_unit_and_other_quantities_refused(
    client: AsyncClient, runtime: Runtime, operator: dict[str, str]
) -> None:
    meter = (await add_meters(runtime, ["HT-U"]))["HT-U"]
    token = await device_token(runtime, meter)
    sent = [
        {**readings("HT-U", 1)[0], "value": 4.35, "unit": "kWh"},  # the catalogue stores 1.8.0 in Wh
        {**readings("HT-U", 1, obis=VOLTAGE)[0], "value": 0.231, "unit": "kV"},
        {**readings("HT-U", 1, first=1)[0], "value": 5.0, "unit": "V"},  # a voltage for an energy register
    ]
    answer = await _post(client, token, {"readings": sent})
    assert answer["accepted"] == 2
    refused = [(item["index"], item["field"], item["reason"]) for item in answer["rejected"]]
    assert refused == [(2, "unit", "wrong_unit")]
    latest = (await client.get(f"/api/meters/{meter}/readings/latest", headers=operator)).json()
    stored = {(row["obis"], row["value"], row["unit"]) for row in latest}
    assert stored == {(ENERGY, 4350.0, "Wh"), (VOLTAGE, 231.0, "V")}


async def test_only_a_live_device_token_may_send(
    client: AsyncClient, runtime: Runtime, operator: dict[str, str], admin: dict[str, str]
) -> None:
    meter = (await add_meters(runtime, ["HT-2"]))["HT-2"]
    body = {"readings": readings("HT-2", 1)}
    refused = [
        await client.post(URL, json=body),
        await client.post(URL, json=body, headers=admin),  # a user's JWT, even an administrator's
        await client.post(URL, json=body, headers={"Authorization": "Basic YTpi"}),
        await client.post(URL, json=body, headers=bearer("hesdt_made-up")),
    ]
    assert [answer.status_code for answer in refused] == [401] * 4
    assert {answer.json()["error"]["code"] for answer in refused} == {"unauthorized"}
    assert "user's access token" in refused[1].json()["error"]["message"]

    first = (await client.post(f"/api/meters/{meter}/device-token", headers=operator)).json()["token"]
    second = (await client.post(f"/api/meters/{meter}/device-token", headers=operator)).json()
    assert second["rotated"] == 1
    assert (await client.post(URL, json=body, headers=bearer(first))).status_code == 401
    assert (await client.post(URL, json=body, headers=bearer(second["token"]))).status_code == 202
    revoked = await client.delete(f"/api/meters/{meter}/device-token", headers=operator)
    assert revoked.json() == {"revoked": 1}
    assert (await client.post(URL, json=body, headers=bearer(second["token"]))).status_code == 401
    assert (await client.delete(f"/api/meters/{meter}/device-token", headers=operator)).status_code == 404


async def test_viewers_cannot_issue_tokens_and_gateway_tokens_need_a_concentrator(
    client: AsyncClient, runtime: Runtime, viewer: dict[str, str], operator: dict[str, str]
) -> None:
    ids = await add_meters(runtime, ["HT-3"])
    assert (await client.post(f"/api/meters/{ids['HT-3']}/device-token", headers=viewer)).status_code == 403
    answer = await client.post(f"/api/meters/{ids['HT-3']}/device-token?scope=concentrator", headers=operator)
    assert answer.status_code == 422
    assert answer.json()["error"]["details"] == [
        {"field": "scope", "message": "the meter has no concentrator id; set it first"}
    ]


async def test_a_gateway_token_sends_for_every_meter_of_its_concentrator(
    client: AsyncClient, runtime: Runtime, operator: dict[str, str]
) -> None:
    ids = await add_meters(runtime, ["HT-4", "HT-5"], concentrator="GW-HT")
    await add_meters(runtime, ["HT-6"], concentrator="GW-OTHER")
    issued = await client.post(f"/api/meters/{ids['HT-4']}/device-token?scope=concentrator", headers=operator)
    token = issued.json()["token"]
    body = {"readings": readings("HT-4", 2) + readings("HT-5", 2) + readings("HT-6", 1)}
    result = await _post(client, token, body)
    assert result["accepted"] == 4
    assert result["rejected"] == [
        {
            "item": "reading",
            "index": 4,
            "meterNumber": "HT-6",
            "field": "meterNumber",
            "reason": "meter_not_allowed",
            "value": "HT-6",
        }
    ]


async def test_every_bad_item_is_listed_and_the_good_ones_stored(client: AsyncClient, runtime: Runtime) -> None:
    meter = (await add_meters(runtime, ["HT-7"]))["HT-7"]
    token = await device_token(runtime, meter)
    good = readings("HT-7", 2)
    bad = [
        {**good[0], "meterNumber": "NOBODY-1"},
        {**good[0], "obis": "1-0:1.8.0"},
        {**good[0], "obis": "1-0:128.8.0.255"},
        {**good[0], "value": "12.5"},
        {**good[0], "value": 1e20},
        {**good[0], "timestamp": "2025-03-03T00:00:00"},
        {**good[0], "timestamp": "2999-01-01T00:00:00Z"},
        {**good[0], "timestamp": "yesterday"},
        {key: value for key, value in good[0].items() if key != "obis"},
        42,
    ]
    raw = '{"readings": [' + ",".join(map(_json, [*good, *bad])) + ', {"meterNumber": "HT-7", "obis": "' + ENERGY
    raw += '", "timestamp": "2025-03-04T00:00:00Z", "value": 1e999}]}'
    answer = await client.post(URL, content=raw, headers={**bearer(token), "Content-Type": "application/json"})
    assert answer.status_code == 202, answer.text
    result = answer.json()
    assert result["accepted"] == 2
    assert [(item["index"], item["field"], item["reason"]) for item in result["rejected"]] == [
        (2, "meterNumber", "unknown_meter"),
        (3, "obis", "invalid_obis"),
        (4, "obis", "unknown_obis"),
        (5, "value", "wrong_type"),
        (6, "value", "out_of_range"),
        (7, "timestamp", "naive_timestamp"),
        (8, "timestamp", "future_timestamp"),
        (9, "timestamp", "invalid_timestamp"),
        (10, "obis", "missing_field"),
        (11, "item", "not_an_object"),
        (12, "value", "out_of_range"),
    ]
    assert result["rejected"][3]["value"] == "12.5"
    assert await count_readings(runtime, meter) == 2


async def test_bodies_that_are_no_batch_are_refused_whole(client: AsyncClient, runtime: Runtime) -> None:
    meter = (await add_meters(runtime, ["HT-8"]))["HT-8"]
    headers = {**bearer(await device_token(runtime, meter)), "Content-Type": "application/json"}
    cases = {
        b"{not json": (400, "malformed_json"),
        b"": (400, "malformed_json"),
        b"[]": (422, "invalid_input"),
        b'{"reading": []}': (422, "invalid_input"),
        b'{"readings": 5}': (422, "invalid_input"),
    }
    for body, expected in cases.items():
        answer = await client.post(URL, content=body, headers=headers)
        assert (answer.status_code, answer.json()["error"]["code"]) == expected, body
        assert set(answer.json()["error"]) == {"code", "message", "details"}
    assert await count_readings(runtime) == 0


@pytest.fixture
async def small_client(settings: Settings, runtime: Runtime) -> AsyncIterator[AsyncClient]:
    """A client of an app that takes bodies of at most 2,000 bytes."""
    application = create_app(settings.model_copy(update={"ingest_max_body_bytes": 2_000}))
    transport = ASGITransport(app=application)
    async with (
        LifespanManager(application, startup_timeout=30, shutdown_timeout=60),
        AsyncClient(transport=transport, base_url="http://hes.test") as http,
    ):
        yield http


async def test_oversized_bodies_are_refused_declared_or_streamed(small_client: AsyncClient, runtime: Runtime) -> None:
    meter = (await add_meters(runtime, ["HT-9"]))["HT-9"]
    headers = bearer(await device_token(runtime, meter))
    body = _json({"readings": readings("HT-9", 40)}).encode()
    assert len(body) > 2_000
    declared = await small_client.post(URL, content=body, headers=headers)

    async def chunks() -> AsyncIterator[bytes]:
        for first in range(0, len(body), 500):
            yield body[first : first + 500]

    streamed = await small_client.post(URL, content=chunks(), headers=headers)  # chunked: no Content-Length
    for answer in (declared, streamed):
        assert answer.status_code == 413
        assert answer.json()["error"]["code"] == "too_large"
    small = await small_client.post(URL, content=_json({"readings": readings("HT-9", 3)}).encode(), headers=headers)
    assert small.status_code == 202
    assert await count_readings(runtime, meter) == 3


async def test_events_are_stored_once_with_their_catalogue_type(
    client: AsyncClient, runtime: Runtime, login_as: UserFactory
) -> None:
    meter = (await add_meters(runtime, ["HT-10"]))["HT-10"]
    token = await device_token(runtime, meter)
    events = [
        {"meterNumber": "HT-10", "code": 40, "timestamp": "2025-03-03T10:00:00Z", "details": {"source": "push"}},
        {"meterNumber": "HT-10", "code": 4711, "timestamp": "2025-03-03T10:00:00+01:00"},
        {"meterNumber": "HT-10", "code": "forty", "timestamp": "2025-03-03T10:00:00Z"},
        {"meterNumber": "HT-10", "code": 1, "timestamp": "2025-03-03T10:00:00Z", "details": {"nested": {"no": 1}}},
    ]
    first = await _post(client, token, {"events": events})
    assert (first["eventsAccepted"], first["eventsDuplicates"]) == (2, 0)
    assert [(item["item"], item["index"], item["field"], item["reason"]) for item in first["rejected"]] == [
        ("event", 2, "code", "wrong_type"),
        ("event", 3, "details", "wrong_type"),
    ]
    again = await _post(client, token, {"events": events[:2]})
    assert (again["eventsAccepted"], again["eventsDuplicates"]) == (0, 2)


async def test_the_endpoint_is_documented_with_its_body_and_device_token(client: AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    operation = document["paths"][URL]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == {"readings", "events"}
    reading = body["properties"]["readings"]["items"]
    assert set(reading["required"]) == {"meterNumber", "obis", "timestamp", "value"}
    assert operation["security"] == [{"DeviceToken": []}]
    assert document["components"]["securitySchemes"]["DeviceToken"]["scheme"] == "bearer"
    assert {"202", "400", "401", "413", "422", "503"} <= set(operation["responses"])
    assert "$ref" not in str(operation)  # written out: nothing points at missing definitions


async def test_ingest_figures_appear_in_metrics(client: AsyncClient, runtime: Runtime) -> None:
    meter = (await add_meters(runtime, ["HT-11"]))["HT-11"]
    await _post(client, await device_token(runtime, meter), {"readings": readings("HT-11", 2)})
    metrics = (await client.get("/metrics")).text
    assert 'hes_ingest_readings_total{outcome="stored"}' in metrics
    assert f'route="{URL}"' in metrics


def _json(value: object) -> str:
    import json

    return json.dumps(value)
