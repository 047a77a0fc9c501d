"""The definition of a simulated fleet: which meters, which brand, transport and security, on which ports.

A `FleetSpec` is frozen data, built from the `hes simulate` options (`fleet_from_options`) or from a fleet file
(hes.simulator.fleet_file), and fully determined by its seed: the same seed gives the same meter numbers, system
titles, LLS passwords, keys and faulty meters (hes.simulator.faults). The keys are test keys derived from a public
seed: they protect nothing, so the simulator listens on loopback addresses only, and they are written only into
the secrets file a user asks for (`secrets_document`), never into a log or a repr.

Ports: each wrapper meter has its own port (base port + its rank among the wrapper meters); every HDLC meter sits
on one shared port (the `hdlc_port`, by default the first port after the wrapper meters') and is told apart by its
HDLC physical address. A base port of 0 lets the system pick free ports (tests); the server reports them.

A fleet file:

    seed: 7
    host: 127.0.0.1
    base_port: 4100
    hdlc_port: 4300        # optional
    latency_ms: 0          # optional: delay before each answer
    fault_share: 0.05      # optional: this share of the meters gets one fault each, of a mix of kinds
    fault_shares: {garbage: 0.01, no-answer: 0.01}   # optional: a share per fault kind
    meters:
      - {count: 10, brand: hexing, transport: wrapper, auth: hls}
      - {count: 2, brand: hexing, auth: hls, ciphering: general}   # offers general-protection (see Ciphering)
      - {count: 5, brand: hexcell, transport: hdlc, auth: lls}
      - {count: 2, brand: idis, faults: [no-answer, {kind: latency, latency_ms: 800, jitter_ms: 200}]}
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from hes import validation
from hes.simulator.brands import BRANDS, BrandInfo
from hes.simulator.faults import Fault, FaultKind, FaultShares, parse_fault, pick_faults

__all__ = [
    "BRANDS",
    "FIRST_PHYSICAL_ADDRESS",
    "LAST_PHYSICAL_ADDRESS",
    "MAX_METERS",
    "PUBLIC_CLIENT",
    "Authentication",
    "BrandInfo",
    "Ciphering",
    "FleetError",
    "FleetSpec",
    "MeterGroup",
    "MeterSpec",
    "Transport",
    "build_fleet",
    "fleet_from_options",
    "parse_group",
    "with_fault_shares",
]

# Most meters one simulator process runs: 10,000 is the scale target; more is a typo.
MAX_METERS = 100_000
# HDLC lower (physical) addresses a meter may have (IEC 62056-46 6.4.2.2): 0x00 is "no station", 0x01-0x0F are
# reserved, 0x3FFE is "calling" and 0x3FFF "all stations".
FIRST_PHYSICAL_ADDRESS = 0x10
LAST_PHYSICAL_ADDRESS = 0x3FFD
PUBLIC_CLIENT = 16  # the public client SAP (IEC 62056-5-3 / Green Book): no authentication, read identification
_KEY_LENGTH = 16  # suite 0: AES-128
_LLS_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"  # no 0/O or 1/l/I to misread
_LLS_LENGTH = 8


class Transport(StrEnum):
    """The DLMS lower layer a meter listens with (the same names as the HES's meter settings)."""

    WRAPPER = "wrapper"
    HDLC = "hdlc"


class Authentication(StrEnum):
    """How the HES's client authenticates (the same names as the HES's meter settings).

    HLS-GMAC meters also require every request authenticated and encrypted (security suite 0).
    """

    NONE = "none"
    LLS = "lls"
    HLS_GMAC = "hls-gmac"

    @classmethod
    def parse(cls, text: str) -> Authentication:
        """The mechanism as the CLI or a fleet file spells it ("hls" is HLS-GMAC).

        Raises:
            ValueError: an unknown spelling.
        """
        return cls.HLS_GMAC if text == "hls" else cls(text)


class Ciphering(StrEnum):
    """How an HLS-GMAC meter's ciphered APDUs are wrapped (IEC 62056-5-3 9.2.7.2.4).

    The meter answers every request in the wrapping it came in; this says what it offers. A GENERAL meter puts
    general-protection in its conformance block, so a client that proposes it too (gurux does) sends
    general-glo-ciphering (0xDB) once associated; a SERVICE_SPECIFIC meter does not, so clients send glo-get-request
    (0xC8) and the like.
    """

    SERVICE_SPECIFIC = "service-specific"
    GENERAL = "general"


class FleetError(ValueError):
    """A fleet definition that cannot be run; `problems` lists every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True, slots=True)
class MeterSpec:
    """One simulated meter: identity, transport, address and security. Secrets stay out of repr()."""

    index: int  # rank in the fleet, from 0
    meter_number: str
    brand: str  # a BRANDS key
    transport: Transport
    authentication: Authentication
    host: str
    port: int  # 0: a free port the system picks
    physical_address: int  # HDLC lower address (unique on the shared HDLC port; unused by wrapper meters)
    system_title: bytes
    seed: int  # the meter's own seed, for its consumption model
    lls_password: bytes | None = field(default=None, repr=False)
    encryption_key: bytes | None = field(default=None, repr=False)  # global unicast encryption key
    authentication_key: bytes | None = field(default=None, repr=False)
    faults: tuple[Fault, ...] = ()
    ciphering: Ciphering = Ciphering.SERVICE_SPECIFIC  # what a ciphered (HLS-GMAC) meter offers

    @property
    def brand_info(self) -> BrandInfo:
        """The brand's numbering, model and client SAP."""
        return BRANDS[self.brand]

    @property
    def client_sap(self) -> int:
        """The client SAP the HES associates as."""
        return self.brand_info.client_sap

    @property
    def ciphered(self) -> bool:
        """Whether requests must be authenticated and encrypted (HLS-GMAC meters)."""
        return self.authentication is Authentication.HLS_GMAC


@dataclass(frozen=True, slots=True)
class MeterGroup:
    """`count` meters of one brand, transport and authentication, each with `faults`."""

    count: int
    brand: str
    transport: Transport
    authentication: Authentication
    faults: tuple[Fault, ...] = ()
    ciphering: Ciphering = Ciphering.SERVICE_SPECIFIC


@dataclass(frozen=True, slots=True)
class FleetSpec:
    """A whole fleet: its seed, where it listens, how slow it answers, and its meters."""

    seed: int
    host: str
    base_port: int
    hdlc_port: int | None  # the shared HDLC port; None when no meter uses HDLC
    latency_ms: int
    meters: tuple[MeterSpec, ...]

    @property
    def wrapper_meters(self) -> tuple[MeterSpec, ...]:
        """The meters with a port of their own."""
        return tuple(meter for meter in self.meters if meter.transport is Transport.WRAPPER)

    @property
    def hdlc_meters(self) -> tuple[MeterSpec, ...]:
        """The meters on the shared HDLC port."""
        return tuple(meter for meter in self.meters if meter.transport is Transport.HDLC)


def _derive(seed: int, index: int, purpose: str, length: int) -> bytes:
    """`length` octets determined by (seed, meter, purpose): the same inputs always give the same octets."""
    material = f"hes-simulator:{seed}:{index}:{purpose}".encode()
    return hashlib.blake2b(material, digest_size=length).digest()


def _meter_number(brand: BrandInfo, seed: int, index: int) -> str:
    # prefix + 3 digits of the seed + 6 digits of the rank: 47007000001 is seed 7's first Hexing meter.
    return validation.meter_number(f"{brand.number_prefix}{seed % 1000:03d}{index + 1:06d}")


def _system_title(brand: BrandInfo, meter_number: str) -> bytes:
    # FLAG id + the meter number in 5 octets, as meters derive it from their serial; unique for numbers < 2^40.
    return brand.flag_id + (int(meter_number) % (1 << 40)).to_bytes(5, "big")


def _lls_password(seed: int, index: int) -> bytes:
    raw = _derive(seed, index, "lls", _LLS_LENGTH)
    return "".join(_LLS_ALPHABET[octet % len(_LLS_ALPHABET)] for octet in raw).encode()


def _check_host(host: str) -> list[str]:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return [f"host {host!r} is not an IP address"]
    if not address.is_loopback:
        return [f"host {host} is not a loopback address: simulated meters use seed-derived test keys"]
    return []


def build_fleet(
    groups: Sequence[MeterGroup],
    *,
    seed: int,
    host: str = "127.0.0.1",
    base_port: int = 4100,
    hdlc_port: int | None = None,
    latency_ms: int = 0,
    fault_shares: FaultShares | None = None,
) -> FleetSpec:
    """The fleet of `groups`, numbered and keyed from `seed`; `fault_shares` adds faults to meters the seed picks.

    Raises:
        FleetError: every problem found (unknown brand, non-loopback host, ports out of range, too many meters, a
            wrong-secret fault on meters without a secret).
    """
    problems = _check_host(host)
    total = sum(group.count for group in groups)
    if not 1 <= total <= MAX_METERS:
        problems.append(f"a fleet has 1-{MAX_METERS} meters, not {total}")
    problems += [
        f"brand {group.brand!r} is not one of {', '.join(BRANDS)}" for group in groups if group.brand not in BRANDS
    ]
    problems += [f"a group has at least 1 meter, not {group.count}" for group in groups if group.count < 1]
    problems += [
        "wrong-secret needs meters with a password or keys (auth lls or hls)"
        for group in groups
        if group.authentication is Authentication.NONE and any(f.kind is FaultKind.WRONG_SECRET for f in group.faults)
    ]
    problems += [
        "ciphering general needs ciphered meters (auth hls)"
        for group in groups
        if group.ciphering is Ciphering.GENERAL and group.authentication is not Authentication.HLS_GMAC
    ]
    if seed < 0:
        problems.append("the seed is a whole number >= 0")
    if not 0 <= latency_ms <= 60_000:
        problems.append("latency is 0-60000 ms")
    wrappers = sum(group.count for group in groups if group.transport is Transport.WRAPPER)
    hdlc = total - wrappers
    if hdlc > LAST_PHYSICAL_ADDRESS - FIRST_PHYSICAL_ADDRESS + 1:
        problems.append(f"one HDLC port holds at most {LAST_PHYSICAL_ADDRESS - FIRST_PHYSICAL_ADDRESS + 1} meters")
    if hdlc and hdlc_port is None:
        hdlc_port = base_port + wrappers if base_port else 0
    last_port = base_port + wrappers - 1
    if base_port < 0 or (base_port and wrappers and not 1024 <= base_port <= last_port <= 65535):
        problems.append(f"wrapper ports {base_port}..{last_port} are not all in 1024-65535 (or 0: any)")
    if hdlc_port is not None and not (hdlc_port == 0 or 1024 <= hdlc_port <= 65535):
        problems.append(f"HDLC port {hdlc_port} is not in 1024-65535 (or 0: any)")
    if hdlc_port and base_port and wrappers and base_port <= hdlc_port < base_port + wrappers:
        problems.append(f"HDLC port {hdlc_port} is also a wrapper meter's port")
    if problems:
        raise FleetError(problems)

    meters: list[MeterSpec] = []
    wrapper_rank = hdlc_rank = 0
    for group in groups:
        brand = BRANDS[group.brand]
        for _ in range(group.count):
            index = len(meters)
            number = _meter_number(brand, seed, index)
            if group.transport is Transport.WRAPPER:
                port, physical = (base_port + wrapper_rank if base_port else 0), FIRST_PHYSICAL_ADDRESS
                wrapper_rank += 1
            else:
                port, physical = hdlc_port or 0, FIRST_PHYSICAL_ADDRESS + hdlc_rank
                hdlc_rank += 1
            ciphered = group.authentication is Authentication.HLS_GMAC
            meters.append(
                MeterSpec(
                    index=index,
                    meter_number=number,
                    brand=group.brand,
                    transport=group.transport,
                    authentication=group.authentication,
                    host=host,
                    port=port,
                    physical_address=physical,
                    system_title=_system_title(brand, number),
                    seed=int.from_bytes(_derive(seed, index, "physics", 8), "big"),
                    lls_password=_lls_password(seed, index) if group.authentication is Authentication.LLS else None,
                    encryption_key=_derive(seed, index, "encryption", _KEY_LENGTH) if ciphered else None,
                    authentication_key=_derive(seed, index, "authentication", _KEY_LENGTH) if ciphered else None,
                    faults=group.faults,
                    ciphering=group.ciphering,
                )
            )
    fleet = FleetSpec(seed, host, base_port, hdlc_port if hdlc else None, latency_ms, tuple(meters))
    return with_fault_shares(fleet, fault_shares) if fault_shares else fleet


def with_fault_shares(fleet: FleetSpec, shares: FaultShares) -> FleetSpec:
    """`fleet` with faults added to the meters its seed picks for `shares` (kinds a meter has already are kept)."""
    secrets = [meter.authentication is not Authentication.NONE for meter in fleet.meters]
    extra = pick_faults(shares, seed=fleet.seed, has_secret=secrets)
    return replace(fleet, meters=tuple(_with_faults(m, added) for m, added in zip(fleet.meters, extra, strict=True)))


def _with_faults(meter: MeterSpec, added: tuple[Fault, ...]) -> MeterSpec:
    """`meter` with the faults `added`, except kinds it already has from its group."""
    kinds = {fault.kind for fault in meter.faults}
    new = tuple(fault for fault in added if fault.kind not in kinds)
    return replace(meter, faults=meter.faults + new) if new else meter


def fleet_from_options(
    meters: int,
    *,
    brand: str = "hexing",
    transport: str = "wrapper",
    auth: str = "none",
    ciphering: str = "service-specific",
    seed: int = 7,
    host: str = "127.0.0.1",
    base_port: int = 4100,
    latency_ms: int = 0,
    fault_shares: FaultShares | None = None,
) -> FleetSpec:
    """A one-group fleet as `hes simulate --meters N --brand ... --transport ... --auth ... --faults ...` describes it.

    Raises:
        FleetError: every problem with the options.
    """
    options = {"count": meters, "brand": brand, "transport": transport, "auth": auth, "ciphering": ciphering}
    group, problems = parse_group(options, "options")
    if group is None:
        raise FleetError(problems)
    return build_fleet(
        [group], seed=seed, host=host, base_port=base_port, latency_ms=latency_ms, fault_shares=fault_shares
    )


_GROUP_KEYS = frozenset({"count", "brand", "transport", "auth", "ciphering", "faults"})


def parse_group(raw: Any, where: str) -> tuple[MeterGroup | None, list[str]]:
    """A meter group from a fleet file or the options: the group, or None and every problem found."""
    if not isinstance(raw, dict):
        return None, [f"{where}: a meter group is a mapping of {', '.join(sorted(_GROUP_KEYS))}"]
    problems = [f"{where}: unknown key {key!r}" for key in raw if key not in _GROUP_KEYS]
    count = raw.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool):
        problems.append(f"{where}: count is a whole number")
    brand = raw.get("brand", "hexing")
    if brand not in BRANDS:
        problems.append(f"{where}: brand {brand!r} is not one of {', '.join(BRANDS)}")
    transport = authentication = None
    try:
        transport = Transport(raw.get("transport", "wrapper"))
    except ValueError:
        problems.append(f"{where}: transport is wrapper or hdlc")
    try:
        authentication = Authentication.parse(raw.get("auth", "none"))
    except ValueError:
        problems.append(f"{where}: auth is none, lls or hls")
    ciphering = None
    try:
        ciphering = Ciphering(raw.get("ciphering", Ciphering.SERVICE_SPECIFIC))
    except ValueError:
        problems.append(f"{where}: ciphering is service-specific or general")
    raw_faults = raw.get("faults", [])
    faults: list[Fault] = []
    if not isinstance(raw_faults, list):
        problems.append(f"{where}: faults is a list of fault kinds or mappings")
        raw_faults = []
    for number, raw_fault in enumerate(raw_faults, start=1):
        fault, fault_problems = parse_fault(raw_fault, f"{where}.faults[{number}]")
        problems += fault_problems
        if fault is not None:
            faults.append(fault)
    if len({fault.kind for fault in faults}) < len(faults):
        problems.append(f"{where}: each fault kind is listed once")
    if problems or transport is None or authentication is None or ciphering is None:
        return None, problems
    return MeterGroup(count, brand, transport, authentication, tuple(faults), ciphering), []
