"""The services the app starts besides the API, working together the way `hes serve` runs them.

One real server (uvicorn, API + Socket.IO on one port): a meter sends an over-voltage reading over HTTP, a
browser in the meter's area room sees the reading and the alert live, and the alert is in the API; a prosumer
flagged through the API exports without a reverse-flow alert while its neighbour's export raises one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import socketio

from hes.app import create_asgi_app
from hes.config import Settings
from hes.db.enums import MeterStatus, Role
from hes.runtime import Runtime
from hes.services.device_tokens import DeviceTokenScope
from tests.conftest import UserFactory
from tests.ingest.fleet import VOLTAGE, add_meters, bearer, device_token
from tests.realtime.conftest import serve

ARRIVAL_TIMEOUT_S = 15.0  # liveness guard only


@pytest.fixture
async def live_url(settings: Settings, runtime: Runtime) -> AsyncIterator[str]:
    """The whole app under uvicorn on an ephemeral port."""
    async for url in serve(create_asgi_app(settings)):
        yield url


async def test_a_reading_reaches_the_store_the_browsers_and_the_alert_rules(
    live_url: str, runtime: Runtime, login_as: UserFactory
) -> None:
    meter_id = (await add_meters(runtime, ["BG-1"], area_code="NORTH", status=MeterStatus.OFFLINE))["BG-1"]
    token = await device_token(runtime, meter_id)
    operator_header = await login_as(Role.OPERATOR)
    operator = operator_header["Authorization"].removeprefix("Bearer ")
    received: dict[str, list[Any]] = {}
    arrived = asyncio.Event()

    browser = socketio.AsyncClient()

    def record(event: str, data: Any) -> None:
        received.setdefault(event, []).append(data)
        if {"meter-reading-update", "alert-created", "meter-status-change"} <= received.keys():
            arrived.set()

    for event in ("meter-reading-update", "alert-created", "meter-status-change"):
        browser.on(event, lambda data, event=event: record(event, data))
    await browser.connect(live_url, auth={"token": operator}, transports=["websocket"])
    try:
        assert (await browser.call("join-room", {"room": "area-NORTH"}))["ok"] is True
        body = {
            "readings": [
                {"meterNumber": "BG-1", "obis": VOLTAGE, "timestamp": datetime.now(UTC).isoformat(), "value": 290.0}
            ]
        }
        async with httpx.AsyncClient(base_url=live_url) as http:
            answer = await http.post("/api/meters/data-ingestion", json=body, headers=bearer(token))
            assert answer.status_code == 202, answer.text
            try:
                await asyncio.wait_for(arrived.wait(), ARRIVAL_TIMEOUT_S)
            except TimeoutError:
                raise AssertionError(f"got only {received}") from None
            alerts = await http.get("/api/alerts", headers=bearer(operator))
    finally:
        await browser.disconnect()

    assert answer.json()["accepted"] == 1
    [alert] = alerts.json()["items"]
    assert (alert["alertType"], alert["meterId"], alert["status"]) == ("over_voltage", meter_id, "open")
    assert received["alert-created"][0]["meterId"] == meter_id
    assert "BG-1" in str(received["meter-reading-update"][0])
    assert "online" in str(received["meter-status-change"][0])


async def test_a_prosumer_flagged_through_the_api_exports_without_a_reverse_flow_alert(
    live_url: str, runtime: Runtime, login_as: UserFactory
) -> None:
    ids = await add_meters(runtime, ["SOLAR-1", "PLAIN-1"], concentrator="DCU-9")
    gateway = await device_token(runtime, ids["SOLAR-1"], DeviceTokenScope.CONCENTRATOR)
    operator = await login_as(Role.OPERATOR)
    now = datetime.now(UTC).isoformat()
    export = [
        {"meterNumber": number, "obis": "1-0:2.7.0.255", "timestamp": now, "value": 2.4, "unit": "kW"}
        for number in ("SOLAR-1", "PLAIN-1")
    ]
    async with httpx.AsyncClient(base_url=live_url) as http:
        flagged = await http.put(f"/api/meters/{ids['SOLAR-1']}", json={"exportAllowed": True}, headers=operator)
        assert flagged.status_code == 200 and flagged.json()["exportAllowed"] is True
        answer = await http.post("/api/meters/data-ingestion", json={"readings": export}, headers=bearer(gateway))
        assert answer.status_code == 202 and answer.json()["accepted"] == 2, answer.text
        alerts = await _alerts_when_any(http, operator)

    # One batch carried both readings, so the rules judged both before the one alert appeared.
    assert [(alert["meterNumber"], alert["alertType"]) for alert in alerts] == [("PLAIN-1", "reverse_flow")]


async def _alerts_when_any(http: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    async with asyncio.timeout(ARRIVAL_TIMEOUT_S):
        while not (items := (await http.get("/api/alerts", headers=headers)).json()["items"]):
            await asyncio.sleep(0.05)
    return list(items)
