"""Runs the demo's simulated fleet beside a started HES Core app, so that readings flow within a minute of starting.

    async with run_demo_fleet(app, plan, links) as report:   # the app's lifespan has started
        ...                                                   # meters connect, get collected, push
    # the fleet is stopped

In order: the outbound and push meters start listening; the meters are registered (hes.demo.registration) with the
ports they really have; dial-in meters dial and push meters push to the HES's inbound port; a first collection of
every outbound meter is queued at once instead of waiting for each meter's polling slot; and each dial-in meter is
collected as soon as HES Core holds its connection (its announcement's values are stored as readings already).
Push meters need nothing: their first push comes within one push interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass

from fastapi import FastAPI

from hes.background import BackgroundServices
from hes.connectivity.catalogue import CollectionKind
from hes.connectivity.dial_in import DialInServer
from hes.connectivity.service import Connectivity
from hes.db.enums import ConnectionMode
from hes.demo.fleet_plan import DemoFleetPlan
from hes.demo.registration import Registration, register_fleet
from hes.demo.simulated_fleet import FleetLinks, SimulatedFleet
from hes.runtime import Runtime
from hes.simulator.server import Endpoint

__all__ = ["FIRST_COLLECTION", "DemoFleetReport", "demo_links", "run_demo_fleet"]

logger = logging.getLogger(__name__)

# What the first collection reads: the registers first (their priority is higher), then a week of load profile,
# the billing values and event logs, so the console has history to show from the start.
FIRST_COLLECTION = (
    CollectionKind.REGISTERS,
    CollectionKind.LOAD_PROFILE,
    CollectionKind.BILLING,
    CollectionKind.EVENTS,
)
_DIAL_IN_WATCH_S = 1.0  # how often the held dial-in connections are looked at for meters not collected yet
_LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class DemoFleetReport:
    """What started: the plan, where the meters listen, where they connect to, and what registering them did."""

    plan: DemoFleetPlan
    endpoints: Mapping[str, Endpoint]
    hdlc_endpoint: Endpoint | None
    links: FleetLinks
    registration: Registration
    first_collections: int

    def describe(self) -> list[str]:
        """Lines for the console: how many meters run in which mode, where, and which are faulty."""
        plan, counts, links = self.plan, self.plan.counts(), self.links
        brands = sorted({meter.spec.brand_info.name for meter in plan.meters})
        areas = sorted({meter.area for meter in plan.meters})
        hes = f"{links.hes_host}:{links.hes_port}"
        lines = [
            f"simulated fleet: {len(plan.meters)} meters ({', '.join(brands)}) in areas {', '.join(areas)}; "
            f"registered {self.registration.added} new, {self.registration.updated} updated, "
            f"{self.registration.unchanged} unchanged",
            f"  outbound: {counts[ConnectionMode.OUTBOUND]} meters listening ({self._where_outbound()}); "
            f"{self.first_collections} first collections queued, then polled on schedule",
            f"  dial-in:  {counts[ConnectionMode.DIAL_IN]} meters dialling {hes}",
            f"  push:     {counts[ConnectionMode.PUSH]} meters pushing to {hes} every {links.push_interval_s:g} s",
        ]
        faulty = plan.faulty()
        if faulty:
            kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(faulty.items()))
            lines.append(f"  faulty:   {sum(faulty.values())} outbound meters ({kinds})")
        return lines

    def _where_outbound(self) -> str:
        outbound = {meter.meter_number for meter in self.plan.of_mode(ConnectionMode.OUTBOUND)}
        ports = sorted({endpoint.port for number, endpoint in self.endpoints.items() if number in outbound})
        hdlc = self.hdlc_endpoint.port if self.hdlc_endpoint is not None else None
        wrapper = [port for port in ports if port != hdlc]
        parts = [f"wrapper on ports {wrapper[0]}-{wrapper[-1]}"] if wrapper else []
        if hdlc is not None:
            parts.append(f"HDLC on port {hdlc}")
        return f"{self.plan.fleet.host}, {' and '.join(parts)}"


def demo_links(meter_host: str, meter_port: int, push_interval_s: float) -> FleetLinks:
    """Where the simulated meters reach HES Core: METER_HOST, or loopback when it listens on every address."""
    host = meter_host
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(meter_host).is_unspecified:
            host = _LOOPBACK
    return FleetLinks(host, meter_port, push_interval_s)


@contextlib.asynccontextmanager
async def run_demo_fleet(app: FastAPI, plan: DemoFleetPlan, push_interval_s: float) -> AsyncIterator[DemoFleetReport]:
    """Start `plan`'s meters beside `app` (its lifespan started) and yield what started; stop them on exit.

    Raises:
        OSError: a meter's port is taken (nothing is left running).
        ValueError: METER_HOST is not a loopback or unspecified address (the simulator's keys are test keys).
        InvalidInput: registering the meters failed.
    """
    runtime: Runtime = app.state.runtime
    background: BackgroundServices = app.state.background
    connectivity, inbound = background.connectivity, background.inbound
    links = demo_links(runtime.settings.meter_host, inbound.port, push_interval_s)
    fleet = SimulatedFleet(plan)
    await fleet.listen()
    watcher: asyncio.Task[None] | None = None
    try:
        registration = await register_fleet(runtime.sessions, runtime.secret_box, plan, fleet.endpoints)
        await fleet.connect(links)
        first = await _collect(connectivity, plan, registration, ConnectionMode.OUTBOUND)
        watcher = asyncio.create_task(_collect_dial_ins(connectivity, inbound, plan, registration))
        yield DemoFleetReport(plan, dict(fleet.endpoints), fleet.hdlc_endpoint, links, registration, first)
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        await fleet.close()


async def _collect(
    connectivity: Connectivity, plan: DemoFleetPlan, registration: Registration, mode: ConnectionMode
) -> int:
    """Queue the first collection of the plan's meters of `mode`; the number of jobs queued."""
    ids = [registration.ids[meter.meter_number] for meter in plan.of_mode(mode)]
    return len(await connectivity.collect(ids, FIRST_COLLECTION)) if ids else 0


async def _collect_dial_ins(
    connectivity: Connectivity, dial_in: DialInServer, plan: DemoFleetPlan, registration: Registration
) -> None:
    """Collect each dial-in meter once HES Core holds its connection, until every one has been collected once."""
    waiting = {registration.ids[meter.meter_number] for meter in plan.of_mode(ConnectionMode.DIAL_IN)}
    while waiting:
        connected = waiting.intersection(dial_in.registry.connected())
        if connected:
            await _queue_dial_ins(connectivity, sorted(connected))
            waiting -= connected
        await asyncio.sleep(_DIAL_IN_WATCH_S)


async def _queue_dial_ins(connectivity: Connectivity, meter_ids: Sequence[int]) -> None:
    handles = await connectivity.collect(meter_ids, FIRST_COLLECTION)
    logger.info("demo fleet: %d dial-in meters connected, %d collections queued", len(meter_ids), len(handles))
