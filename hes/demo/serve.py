"""`hes demo`'s server: HES Core under uvicorn with the simulated fleet in the same process and event loop.

`hes serve` is untouched: here a uvicorn `Server` runs as a task, and once its lifespan has started (the meter
connectivity and the inbound meter port with it) the fleet starts beside it (hes.demo.fleet_runner). Ctrl-C is
uvicorn's to catch: it stops the HES first (sessions ended, outcomes and readings written), then the fleet's meters
hang up, and `serve_demo` raises KeyboardInterrupt for the command to end on. On SIGTERM uvicorn stops the HES the
same way and then re-raises the signal, which ends the process before the fleet is closed (the system closes its
sockets).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from hes.app import create_app
from hes.config import Settings
from hes.demo.fleet_plan import DEFAULT_PUSH_INTERVAL_S, DemoFleetPlan
from hes.demo.fleet_runner import DemoFleetReport, run_demo_fleet
from hes.realtime import with_socketio

__all__ = ["DemoServer", "serve_demo"]

_STARTUP_POLL_S = 0.05  # how often the server task is looked at until its lifespan has started


@dataclass(frozen=True)
class DemoServer:
    """Where the demo serves, its fleet, and how often push meters push."""

    host: str
    port: int
    plan: DemoFleetPlan | None  # None: no simulated fleet
    push_interval_s: float = DEFAULT_PUSH_INTERVAL_S


def serve_demo(settings: Settings, demo: DemoServer, on_ready: Callable[[DemoFleetReport | None], None]) -> None:
    """Serve HES Core and run the fleet until Ctrl-C; `on_ready` is called once both run.

    Raises:
        KeyboardInterrupt: after a clean stop on Ctrl-C.
        OSError: a meter's port is taken. SystemExit: uvicorn could not start (its port is taken).
    """
    app = create_app(settings)
    config = uvicorn.Config(
        with_socketio(app, app.state.socketio),
        host=demo.host,
        port=demo.port,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
    )
    server = uvicorn.Server(config)
    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(serve_with_fleet(server, app, demo, on_ready))


async def serve_with_fleet(
    server: uvicorn.Server, app: FastAPI, demo: DemoServer, on_ready: Callable[[DemoFleetReport | None], None]
) -> None:
    """Run `server` (serving `app`) and, once it has started, the demo's fleet; return when the server has stopped.

    Tests stop it with `server.should_exit = True`.
    """
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if serving.done():
                return await serving  # startup failed: its error (uvicorn exits on a taken port)
            await asyncio.sleep(_STARTUP_POLL_S)
        if demo.plan is None:
            on_ready(None)
            await serving
            return
        async with run_demo_fleet(app, demo.plan, demo.push_interval_s) as report:
            on_ready(report)
            await asyncio.shield(serving)
    finally:
        # Whatever ended us (the fleet failed to start, a cancellation), the server stops before we return.
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await serving
