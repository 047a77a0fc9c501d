"""The demo's simulated fleet beside a running HES Core app: meters of every mode come online with readings in the
readings API, a faulty meter leaves a communication event, and stopping the fleet closes its ports."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from hes.db.enums import ConnectionMode
from hes.demo import load_sample_fleet
from hes.demo.fleet_plan import DemoMeter, plan_fleet
from hes.demo.fleet_runner import DemoFleetReport, demo_links, run_demo_fleet
from hes.runtime import Runtime
from hes.simulator.faults import FaultKind

LIVENESS = 90.0  # seconds the test waits for the fleet before failing instead of hanging (a loaded 2-core machine)
PUSH_INTERVAL_S = 1.0


async def eventually(check: Callable[[], Awaitable[Any]], what: str) -> Any:
    """Wait until `check()` returns something truthy (and return it); fail after LIVENESS seconds."""
    try:
        async with asyncio.timeout(LIVENESS):
            while not (result := await check()):
                await asyncio.sleep(0.25)
            return result
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None


async def latest(client: AsyncClient, headers: Mapping[str, str], meter_id: int) -> list[dict[str, Any]]:
    answer = await client.get(f"/api/meters/{meter_id}/readings/latest", headers=headers)
    assert answer.status_code == 200, answer.text
    return list(answer.json())


async def meter(client: AsyncClient, headers: Mapping[str, str], meter_id: int) -> dict[str, Any]:
    answer = await client.get(f"/api/meters/{meter_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


@pytest.fixture
async def sample_areas(runtime: Runtime) -> None:
    """The sample fleet `hes demo` loads first: its areas are the ones the simulated meters are spread over."""
    await load_sample_fleet(runtime.sessions)


def healthy(report: DemoFleetReport, mode: ConnectionMode) -> list[DemoMeter]:
    return [demo_meter for demo_meter in report.plan.of_mode(mode) if not demo_meter.spec.faults]


@pytest.mark.parametrize("mode", [ConnectionMode.OUTBOUND, ConnectionMode.DIAL_IN, ConnectionMode.PUSH])
async def test_every_healthy_meter_comes_online_with_readings(
    app: FastAPI, client: AsyncClient, admin: Mapping[str, str], mode: ConnectionMode, sample_areas: None
) -> None:
    plan = plan_fleet(12, base_port=0)
    async with run_demo_fleet(app, plan, PUSH_INTERVAL_S) as report:
        for demo_meter in healthy(report, mode):
            meter_id = report.registration.ids[demo_meter.meter_number]
            spec = demo_meter.spec
            what = f"{mode} meter {spec.meter_number} ({spec.transport}, {spec.authentication})"

            values = await eventually(lambda meter_id=meter_id: latest(client, admin, meter_id), f"readings of {what}")

            assert "1-0:1.8.0.255" in {value["obis"] for value in values}  # active energy import
            shown = await eventually(lambda meter_id=meter_id: _online(client, admin, meter_id), f"{what} online")
            assert shown["lastSeenAt"] is not None


async def _online(client: AsyncClient, headers: Mapping[str, str], meter_id: int) -> dict[str, Any] | None:
    shown = await meter(client, headers, meter_id)
    return shown if shown["status"] == "online" else None


async def test_a_meter_with_a_wrong_key_leaves_a_communication_event(
    app: FastAPI, client: AsyncClient, admin: Mapping[str, str], sample_areas: None
) -> None:
    plan = plan_fleet(12, base_port=0)
    async with run_demo_fleet(app, plan, PUSH_INTERVAL_S) as report:
        (wrong,) = [m for m in plan.meters if m.spec.faults and m.spec.faults[0].kind is FaultKind.WRONG_SECRET]
        meter_id = report.registration.ids[wrong.meter_number]

        async def failures() -> list[dict[str, Any]]:
            answer = await client.get(
                "/api/events", params={"meterId": meter_id, "category": "communication"}, headers=admin
            )
            assert answer.status_code == 200, answer.text
            return [event for event in answer.json()["items"] if event["eventType"] == "communication_failed"]

        events = await eventually(failures, f"a communication event of meter {wrong.meter_number}")

        assert events[0]["meterId"] == meter_id
        assert await latest(client, admin, meter_id) == []  # nothing read with the wrong key is stored


async def test_the_report_says_what_runs_and_stopping_closes_every_port(app: FastAPI, sample_areas: None) -> None:
    plan = plan_fleet(12, base_port=0)
    async with run_demo_fleet(app, plan, PUSH_INTERVAL_S) as report:
        endpoints = dict(report.endpoints)
        lines = report.describe()
        assert lines[0].startswith("simulated fleet: 12 meters (Hexcell, Hexing) in areas IBD-N, IBD-S, OYO")
        assert any(line.strip().startswith("outbound: 6 meters listening") for line in lines)
        assert any(line.strip().startswith("dial-in:  3 meters dialling 127.0.0.1:") for line in lines)
        assert any("faulty:   3 outbound meters" in line for line in lines)
        assert report.first_collections > 0
        _, writer = await asyncio.open_connection(*_any_port(endpoints))
        writer.close()

    with pytest.raises(OSError):
        await asyncio.open_connection(*_any_port(endpoints))


def _any_port(endpoints: Mapping[str, Any]) -> tuple[str, int]:
    endpoint = next(iter(endpoints.values()))
    return endpoint.host, endpoint.port


def test_meters_reach_the_hes_on_loopback_when_it_listens_on_every_address() -> None:
    assert demo_links("0.0.0.0", 4059, 60.0).hes_host == "127.0.0.1"
    assert demo_links("::", 4059, 60.0).hes_host == "127.0.0.1"
    assert demo_links("127.0.0.2", 4059, 60.0).hes_host == "127.0.0.2"
