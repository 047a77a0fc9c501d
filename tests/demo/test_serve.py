"""`hes demo`'s server: uvicorn and the simulated fleet in one event loop, ready together, stopped together."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import uvicorn

from hes.app import create_app
from hes.config import Settings
from hes.demo import load_sample_fleet
from hes.demo.fleet_plan import plan_fleet
from hes.demo.fleet_runner import DemoFleetReport
from hes.demo.serve import DemoServer, serve_with_fleet
from hes.realtime import with_socketio
from hes.runtime import Runtime

BOUND = 60.0  # seconds before a step fails instead of hanging


async def test_the_api_and_the_fleet_run_in_one_loop_and_stop_together(settings: Settings, runtime: Runtime) -> None:
    await load_sample_fleet(runtime.sessions)
    app = create_app(settings)
    config = uvicorn.Config(with_socketio(app, app.state.socketio), host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    reports: list[DemoFleetReport | None] = []
    ready = asyncio.Event()

    def on_ready(report: DemoFleetReport | None) -> None:
        reports.append(report)
        ready.set()

    demo = DemoServer("127.0.0.1", 0, plan_fleet(12, base_port=0), push_interval_s=1.0)
    serving = asyncio.create_task(serve_with_fleet(server, app, demo, on_ready))
    try:
        async with asyncio.timeout(BOUND):
            await ready.wait()
        (report,) = reports
        assert report is not None
        port = server.servers[0].sockets[0].getsockname()[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            assert (await http.get("/health")).status_code == 200
        meter_endpoint = next(iter(report.endpoints.values()))
    finally:
        server.should_exit = True
        async with asyncio.timeout(BOUND):
            await serving

    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)
    with pytest.raises(OSError):
        await asyncio.open_connection(meter_endpoint.host, meter_endpoint.port)


async def test_without_a_fleet_it_serves_alone(settings: Settings, runtime: Runtime) -> None:
    app = create_app(settings)
    config = uvicorn.Config(with_socketio(app, app.state.socketio), host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    reports: list[DemoFleetReport | None] = []

    serving = asyncio.create_task(serve_with_fleet(server, app, DemoServer("127.0.0.1", 0, None), reports.append))
    async with asyncio.timeout(BOUND):
        while not reports:
            await asyncio.sleep(0.05)
        server.should_exit = True
        await serving

    assert reports == [None]
