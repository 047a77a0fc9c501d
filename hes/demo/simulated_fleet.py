"""The demo's simulated meters at work, in the HES's own event loop: listening, dialling in and pushing.

Outbound and push meters listen on loopback ports (hes.simulator.server); the push meters also push
DataNotifications to the HES's METER_PORT every `push_interval_s` (hes.simulator.push); dial-in meters dial
METER_PORT, announce themselves and answer the HES on that socket (hes.simulator.dial_in). `listen()` binds first,
so the meters can be registered with the ports they really have before `connect()` lets any meter reach HES Core.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from hes.db.enums import ConnectionMode
from hes.demo.fleet_plan import DEFAULT_PUSH_INTERVAL_S, DemoFleetPlan
from hes.simulator.dial_in import DialInFleet, DialInSettings
from hes.simulator.push import PushRunner, PushSettings
from hes.simulator.server import Endpoint, FleetServer, ServerLimits, build_meters, fault_table

__all__ = ["FleetLinks", "SimulatedFleet"]

logger = logging.getLogger(__name__)

# A dial-in meter hangs up after this long without hearing from the HES: longer than the 15-minute register polling,
# so a held connection survives between polls (the simulator's default, OSGP's 120 s, would redial every 2 minutes).
_DIAL_IN_INACTIVITY_S = 1_200.0
_KEEPALIVE_S = 60.0  # a dial-in meter's heartbeat push after a quiet minute (its values are stored as readings)
_LISTENING = (ConnectionMode.OUTBOUND, ConnectionMode.PUSH)


@dataclass(frozen=True, slots=True)
class FleetLinks:
    """Where the simulated meters reach HES Core (METER_HOST:METER_PORT, a loopback address) and how often they push."""

    hes_host: str
    hes_port: int
    push_interval_s: float = DEFAULT_PUSH_INTERVAL_S


class SimulatedFleet:
    """The plan's meters: `listen()`, then `connect(links)`, then `close()`."""

    def __init__(self, plan: DemoFleetPlan) -> None:
        """The meters of `plan`, not yet listening."""
        self.plan = plan
        listening = plan.subfleet(_LISTENING)
        self._server = FleetServer(listening, build_meters(listening)) if listening.meters else None
        self._dialers: DialInFleet | None = None
        self._pushers: PushRunner | None = None

    @property
    def endpoints(self) -> Mapping[str, Endpoint]:
        """Where each listening meter listens (after `listen()`); dial-in meters listen nowhere."""
        return self._server.endpoints if self._server is not None else {}

    @property
    def hdlc_endpoint(self) -> Endpoint | None:
        """The port the HDLC meters share (after `listen()`), if any meter listens with HDLC."""
        return self._server.hdlc_endpoint if self._server is not None else None

    def dial_in_connections(self) -> dict[str, int]:
        """Connections each dial-in meter has made to HES Core so far."""
        if self._dialers is None:
            return {}
        return {number: counters.connections for number, counters in self._dialers.counters.items()}

    async def listen(self) -> Mapping[str, Endpoint]:
        """Bind the outbound and push meters' ports; where each one listens.

        Raises:
            OSError: a port is taken or not permitted (nothing is left listening).
        """
        if self._server is not None:
            await self._server.start()
        return self.endpoints

    async def connect(self, links: FleetLinks) -> None:
        """Let the dial-in meters dial and the push meters push to HES Core.

        Raises:
            ValueError: the HES address is not a loopback address (the simulator's keys are test keys), or a bad
                port or interval.
        """
        dialling = self.plan.subfleet((ConnectionMode.DIAL_IN,))
        pushing = self.plan.subfleet((ConnectionMode.PUSH,))
        dial_settings = DialInSettings(links.hes_host, links.hes_port, keepalive_s=_KEEPALIVE_S)
        push_settings = PushSettings(links.hes_host, links.hes_port, interval_s=links.push_interval_s)
        if dialling.meters:
            limits = ServerLimits(inactivity_timeout=_DIAL_IN_INACTIVITY_S)
            meters = build_meters(dialling)
            self._dialers = DialInFleet(dialling, meters, dial_settings, limits=limits, faults=fault_table(dialling))
            await self._dialers.start()
        if pushing.meters and self._server is not None:
            meters = [self._server.meters[spec.meter_number] for spec in pushing.meters]
            self._pushers = PushRunner(pushing, meters, push_settings)
            await self._pushers.start()

    async def close(self) -> None:
        """Stop pushing and dialling, then close every listener and connection."""
        if self._pushers is not None:
            await self._pushers.close()
        if self._dialers is not None:
            await self._dialers.close()
        if self._server is not None:
            await self._server.close()
        logger.info("simulated fleet of %d meters stopped", len(self.plan.meters))
