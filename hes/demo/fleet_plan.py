"""The demo's simulated fleet, as data: which meters, how each one connects, in which area, and which are faulty.

The plan is a function of its options only (size, seed, base port): the simulator derives meter numbers, system
titles, passwords and keys from the seed (hes.simulator.fleet), so a second `hes demo` on the same database finds
the meters it registered the first time. Wrapper meters get ports from the base port on, in fleet order, and the
HDLC meters share the port after them; a pinned base port keeps them where the meter records say they are.

Shares of the fleet per connection mode and lower layer (a table, habit 10):

| mode     | transport | share | what the meter does                                            |
|----------|-----------|-------|----------------------------------------------------------------|
| outbound | wrapper   | 35 %  | listens on its own port; HES Core connects and polls it        |
| outbound | HDLC      | 15 %  | listens on the shared HDLC port, told apart by HDLC address    |
| dial-in  | wrapper   | 15 %  | dials METER_PORT, announces itself, HES Core polls that socket |
| dial-in  | HDLC      | 10 %  | the same, speaking HDLC                                        |
| push     | wrapper   | 25 %  | pushes DataNotifications to METER_PORT on an interval          |

Authentication cycles none, LLS, HLS-GMAC (with encryption) and brands alternate Hexing / Hexcell within each row;
areas go round the three sample areas. A few outbound wrapper meters are faulty (one of each kind per 100 meters,
at least one each from `MIN_FAULTY_FLEET` meters up): no answer, a wrong key, a flapping connection.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

from hes.db.enums import ConnectionMode
from hes.simulator.faults import Fault, FaultKind
from hes.simulator.fleet import (
    Authentication,
    FleetError,
    FleetSpec,
    MeterGroup,
    MeterSpec,
    Transport,
    build_fleet,
)

__all__ = [
    "DEFAULT_BASE_PORT",
    "DEFAULT_METERS",
    "DEFAULT_PUSH_INTERVAL_S",
    "DEFAULT_SEED",
    "DEMO_AREAS",
    "FAULT_KINDS",
    "MIN_FAULTY_FLEET",
    "DemoFleetPlan",
    "DemoMeter",
    "plan_fleet",
]

DEFAULT_METERS = 200
DEFAULT_SEED = 7  # not 0: seed 0 would number meters like the sample fleet's (47000000001, ...)
DEFAULT_BASE_PORT = 41_000  # above the usual services' ports and below Linux's ephemeral range (32768-60999 tops)
DEFAULT_PUSH_INTERVAL_S = 60.0  # a push a minute: readings show up soon after start and keep coming
DEMO_AREAS = ("IBD-N", "IBD-S", "OYO")  # three of the sample fleet's areas (hes/demo/data/areas.csv)
FAULT_KINDS = (FaultKind.WRONG_SECRET, FaultKind.NO_ANSWER, FaultKind.FLAPPING)
MIN_FAULTY_FLEET = 10  # smaller fleets have no faulty meters: they would be mostly faults
_FAULTY_PER = 100  # one faulty meter of each kind per this many meters
_BRANDS = ("hexing", "hexcell")
_AUTHENTICATIONS = (Authentication.NONE, Authentication.LLS, Authentication.HLS_GMAC)
_SHARES: tuple[tuple[ConnectionMode, Transport, float], ...] = (
    (ConnectionMode.OUTBOUND, Transport.WRAPPER, 0.35),
    (ConnectionMode.OUTBOUND, Transport.HDLC, 0.15),
    (ConnectionMode.DIAL_IN, Transport.WRAPPER, 0.15),
    (ConnectionMode.DIAL_IN, Transport.HDLC, 0.10),
    (ConnectionMode.PUSH, Transport.WRAPPER, 0.25),
)


@dataclass(frozen=True, slots=True)
class DemoMeter:
    """One simulated meter of the demo: the simulator's spec, how it reaches HES Core, and its area code."""

    spec: MeterSpec
    mode: ConnectionMode
    area: str

    @property
    def meter_number(self) -> str:
        """The meter number (the simulator's, from the seed)."""
        return self.spec.meter_number


@dataclass(frozen=True, slots=True)
class DemoFleetPlan:
    """The whole demo fleet: the simulator's fleet and each meter's mode and area, in fleet order."""

    fleet: FleetSpec
    meters: tuple[DemoMeter, ...]

    def of_mode(self, mode: ConnectionMode) -> tuple[DemoMeter, ...]:
        """The meters that connect this way."""
        return tuple(meter for meter in self.meters if meter.mode is mode)

    def subfleet(self, modes: Sequence[ConnectionMode]) -> FleetSpec:
        """The simulator fleet of the meters in these modes (ports as in the whole fleet)."""
        return replace(self.fleet, meters=tuple(meter.spec for meter in self.meters if meter.mode in modes))

    def counts(self) -> Counter[ConnectionMode]:
        """How many meters connect each way."""
        return Counter(meter.mode for meter in self.meters)

    def faulty(self) -> Counter[str]:
        """How many meters have each kind of fault."""
        return Counter(str(fault.kind) for meter in self.meters for fault in meter.spec.faults)


def plan_fleet(
    meters: int = DEFAULT_METERS, *, seed: int = DEFAULT_SEED, base_port: int = DEFAULT_BASE_PORT
) -> DemoFleetPlan:
    """The demo fleet of `meters` meters (see the module docstring); base port 0 lets the system pick ports.

    Raises:
        FleetError: every problem with the options (size, seed, ports), as the simulator words it.
    """
    if meters < 1:
        raise FleetError([f"a demo fleet has at least 1 meter, not {meters}"])
    rows = _allot(meters)
    groups: list[MeterGroup] = []
    modes: list[ConnectionMode] = []
    faults = _fault_queue(meters)
    for (mode, transport, _), count in zip(_SHARES, rows, strict=True):
        for rank in range(count):
            authentication = _AUTHENTICATIONS[rank % len(_AUTHENTICATIONS)]
            brand = _BRANDS[rank % len(_BRANDS)]
            fault: tuple[Fault, ...] = ()
            # Faults go to the last outbound wrapper meters: the first ones stay healthy whatever the size.
            if mode is ConnectionMode.OUTBOUND and transport is Transport.WRAPPER and count - rank <= len(faults):
                fault = (Fault(faults[count - rank - 1]),)
                if fault[0].kind is FaultKind.WRONG_SECRET and authentication is Authentication.NONE:
                    authentication = Authentication.LLS  # a wrong secret needs a secret
            groups.append(MeterGroup(1, brand, transport, authentication, fault))
            modes.append(mode)
    fleet = build_fleet(groups, seed=seed, base_port=base_port)
    demo_meters = tuple(
        DemoMeter(spec, mode, DEMO_AREAS[spec.index % len(DEMO_AREAS)])
        for spec, mode in zip(fleet.meters, modes, strict=True)
    )
    return DemoFleetPlan(fleet, demo_meters)


def _allot(meters: int) -> list[int]:
    """Meters per row of the share table, summing to `meters` (largest remainders get the rest)."""
    exact = [meters * share for _, _, share in _SHARES]
    counts = [int(value) for value in exact]
    by_remainder = sorted(range(len(exact)), key=lambda row: (counts[row] - exact[row], row))
    for row in by_remainder[: meters - sum(counts)]:
        counts[row] += 1
    return counts


def _fault_queue(meters: int) -> list[FaultKind]:
    """The faults to give out, one kind after the other (wrong secret first, on the last meter)."""
    if meters < MIN_FAULTY_FLEET:
        return []
    each = max(1, meters // _FAULTY_PER)
    return [kind for _ in range(each) for kind in FAULT_KINDS]
