"""Faults a simulated meter can have, as data: what each kind does, its settings, and which meters get one.

A fault never touches the DLMS core (hes.simulator.dlms): the wrong-secret fault configures the meter with other
secrets than those written to the secrets file; every other kind acts where the octets meet the socket
(hes.simulator.injection decides, the asyncio drivers carry it out). Kinds and what a HES client sees:

| kind             | the meter...                                              | the HES sees                          |
|------------------|-----------------------------------------------------------|---------------------------------------|
| latency          | answers after latency_ms +/- jitter_ms                    | slow round trips (2G: 300-1000 ms)    |
| no-answer        | accepts TCP and reads, never answers                      | a response timeout                    |
| late-answer      | answers after delay_s (past a HES's response timeout)    | a timeout, then a stale answer        |
| garbage          | sends random octets instead of (a share `rate` of) answers| no frame: a bad header, or a timeout  |
| truncated        | sends only the first half of (a share of) answers        | an incomplete frame: a timeout        |
| drop-mid-block   | closes the socket after the first block of a GET with     | a closed connection mid-transfer      |
|                  | datablock or the first segment of a segmented HDLC answer |                                       |
| wrong-secret     | has another LLS password / other keys than the secrets    | the AARE rejected (LLS) / HLS refused |
| slow             | sends each octet ms_per_byte after the previous one       | slow answers, growing with size       |
| flapping         | refuses every other connection (`every_other`) and closes | connection refused / reset            |
|                  | each connection period_s after it opened (0: never)       |                                       |

Which meters: per meter group in a fleet file (`faults: [garbage, {kind: latency, latency_ms: 500}]`), or as a
share of the fleet (`--faults 0.05`: that share of the meters, each with one kind of a mix; `--fault KIND=SHARE`:
that share with that kind). The choice is a function of the fleet seed, so the same seed gives the same faulty
meters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

__all__ = [
    "MIX",
    "Fault",
    "FaultKind",
    "FaultShares",
    "parse_fault",
    "parse_fault_share",
    "parse_fault_shares",
    "pick_faults",
    "wrong_key",
    "wrong_password",
]


class FaultKind(StrEnum):
    """What goes wrong with a meter (see the module docstring)."""

    LATENCY = "latency"
    NO_ANSWER = "no-answer"
    LATE_ANSWER = "late-answer"
    GARBAGE = "garbage"
    TRUNCATED = "truncated"
    DROP_MID_BLOCK = "drop-mid-block"
    WRONG_SECRET = "wrong-secret"
    SLOW = "slow"
    FLAPPING = "flapping"


# The kinds `--faults SHARE` spreads over the chosen meters, in turn.
MIX: tuple[FaultKind, ...] = tuple(FaultKind)


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault of one meter with its settings; each kind reads only its own settings (`_SETTINGS`)."""

    kind: FaultKind
    latency_ms: int = 300  # latency: 2G-like round trip
    jitter_ms: int = 100  # latency: uniform +/- around latency_ms
    delay_s: float = 130.0  # late-answer: past OSGP's 120 s response timeout, the longest common HES default
    rate: float = 1.0  # garbage, truncated: share of the answers spoiled
    ms_per_byte: float = 2.0  # slow: about 4 kbit/s, a poor GPRS link
    period_s: float = 30.0  # flapping: each connection ends this long after it opened; 0: never
    every_other: bool = True  # flapping: refuse every second connection

    def __post_init__(self) -> None:
        problems = _check(self)
        if problems:
            raise ValueError("; ".join(problems))

    def describe(self) -> str:
        """The kind and its settings, e.g. "latency(latency_ms=300, jitter_ms=100)"."""
        settings = ", ".join(f"{name}={getattr(self, name)}" for name in _SETTINGS[self.kind])
        return f"{self.kind}({settings})" if settings else str(self.kind)


# Which settings each kind reads (habit 10: the catalogue is data); a fleet file may set only these.
_SETTINGS: Mapping[FaultKind, tuple[str, ...]] = {
    FaultKind.LATENCY: ("latency_ms", "jitter_ms"),
    FaultKind.NO_ANSWER: (),
    FaultKind.LATE_ANSWER: ("delay_s",),
    FaultKind.GARBAGE: ("rate",),
    FaultKind.TRUNCATED: ("rate",),
    FaultKind.DROP_MID_BLOCK: (),
    FaultKind.WRONG_SECRET: (),
    FaultKind.SLOW: ("ms_per_byte",),
    FaultKind.FLAPPING: ("period_s", "every_other"),
}
_FIELD_TYPES = {field.name: field.type for field in fields(Fault)}  # "int", "float", "bool": annotations are text


def _check(fault: Fault) -> list[str]:
    problems = []
    if not 0 <= fault.latency_ms <= 60_000:
        problems.append("latency_ms is 0-60000")
    if not 0 <= fault.jitter_ms <= fault.latency_ms:
        problems.append("jitter_ms is 0..latency_ms")
    if not 0 < fault.delay_s <= 3600:
        problems.append("delay_s is more than 0 and at most 3600")
    if not 0 < fault.rate <= 1:
        problems.append("rate is more than 0 and at most 1")
    if not 0 < fault.ms_per_byte <= 1000:
        problems.append("ms_per_byte is more than 0 and at most 1000")
    if fault.period_s < 0 or fault.period_s > 86_400:
        problems.append("period_s is 0-86400")
    if fault.kind is FaultKind.FLAPPING and not fault.period_s and not fault.every_other:
        problems.append("a flapping meter has a period_s or refuses every_other connection")
    return problems


_DEFAULTS: Mapping[FaultKind, Fault] = {kind: Fault(kind) for kind in FaultKind}


def parse_fault(raw: Any, where: str) -> tuple[Fault | None, list[str]]:
    """A fault from a fleet file: a kind ("garbage") or a mapping ({kind: latency, latency_ms: 500}).

    Returns:
        The fault, or None and every problem found.
    """
    if isinstance(raw, str):
        raw = {"kind": raw}
    if not isinstance(raw, dict):
        return None, [f"{where}: a fault is a kind or a mapping with a kind"]
    try:
        kind = FaultKind(str(raw.get("kind")))
    except ValueError:
        return None, [f"{where}: kind is one of {', '.join(FaultKind)}"]
    allowed = _SETTINGS[kind]
    problems = [f"{where}: {kind} has no setting {key!r}" for key in raw if key != "kind" and key not in allowed]
    settings: dict[str, Any] = {}
    for name in allowed:
        if name not in raw:
            continue
        value, wanted = raw[name], _FIELD_TYPES[name]
        if wanted == "bool" and not isinstance(value, bool):
            problems.append(f"{where}: {name} is true or false")
        elif wanted != "bool" and (isinstance(value, bool) or not isinstance(value, int | float)):
            problems.append(f"{where}: {name} is a number")
        elif wanted == "int" and not isinstance(value, int):
            problems.append(f"{where}: {name} is a whole number")
        else:
            settings[name] = value
    if problems:
        return None, problems
    return _validated(kind, settings, where)


def _validated(kind: FaultKind, settings: Mapping[str, Any], where: str) -> tuple[Fault | None, list[str]]:
    try:
        return Fault(kind, **settings), []
    except ValueError as error:
        return None, [f"{where}: {problem}" for problem in str(error).split("; ")]


def parse_fault_share(text: str) -> tuple[FaultKind, float]:
    """`--fault KIND=SHARE`: a kind and the share of the fleet (0-1) that gets it.

    Raises:
        ValueError: not KIND=SHARE, an unknown kind, or a share outside 0-1.
    """
    kind_text, separator, share_text = text.partition("=")
    if not separator:
        raise ValueError(f"--fault {text!r} is not KIND=SHARE (e.g. garbage=0.05)")
    try:
        kind = FaultKind(kind_text.strip())
    except ValueError:
        raise ValueError(f"fault kind {kind_text!r} is not one of {', '.join(FaultKind)}") from None
    return kind, _share(share_text, f"share of {kind}")


def _share(value: Any, what: str) -> float:
    try:
        share = float(value) if isinstance(value, str | int | float) and not isinstance(value, bool) else -1.0
    except ValueError:
        share = -1.0
    if not 0 <= share <= 1:
        raise ValueError(f"{what} is a number from 0 to 1, not {value!r}")
    return share


@dataclass(frozen=True, slots=True)
class FaultShares:
    """Which share of a fleet gets faults: `mixed` with one kind each of MIX, and shares per kind."""

    mixed: float = 0.0
    by_kind: tuple[tuple[FaultKind, float], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.mixed or any(share for _, share in self.by_kind))


def parse_fault_shares(mixed: Any, by_kind: Any, where: str = "") -> tuple[FaultShares, list[str]]:
    """Fault shares from a fleet file (`fault_share: 0.05`, `fault_shares: {garbage: 0.1}`) or the CLI.

    Returns:
        The shares (empty where a value is wrong) and every problem found.
    """
    problems: list[str] = []
    prefix = f"{where}: " if where else ""
    share = 0.0
    if mixed is not None:
        try:
            share = _share(mixed, "fault_share")
        except ValueError as error:
            problems.append(prefix + str(error))
    pairs: list[tuple[FaultKind, float]] = []
    if by_kind is not None and not isinstance(by_kind, dict):
        problems.append(f"{prefix}fault_shares is a mapping of fault kind to share")
    for key, value in (by_kind or {}).items() if isinstance(by_kind, dict) else ():
        try:
            pairs.append(parse_fault_share(f"{key}={value}"))
        except ValueError as error:
            problems.append(prefix + str(error))
    return FaultShares(share, tuple(pairs)), problems


def _rank(seed: int, index: int, salt: str) -> int:
    """A stable pseudo-random rank of meter `index` for `salt`: sorting by it shuffles the fleet per seed."""
    return int.from_bytes(hashlib.blake2b(f"hes-simulator-faults:{seed}:{salt}:{index}".encode()).digest()[:8], "big")


def _how_many(share: float, count: int) -> int:
    # Round half up, so 5 % of 10 meters is one meter (round() would give 0 for 0.5).
    return int(share * count + 0.5)


def pick_faults(shares: FaultShares, *, seed: int, has_secret: Sequence[bool]) -> list[tuple[Fault, ...]]:
    """The faults each meter of a fleet gets from `shares`, chosen by `seed` (one tuple per meter, in order).

    `has_secret[i]` says whether meter i has a password or keys: only those can get wrong-secret.
    """
    count = len(has_secret)
    chosen: list[list[Fault]] = [[] for _ in range(count)]
    for kind, share in shares.by_kind:
        eligible = [i for i in range(count) if kind is not FaultKind.WRONG_SECRET or has_secret[i]]
        for index in sorted(eligible, key=lambda i: _rank(seed, i, kind))[: _how_many(share, count)]:
            chosen[index].append(_DEFAULTS[kind])
    picked = sorted(range(count), key=lambda i: _rank(seed, i, "mix"))[: _how_many(shares.mixed, count)]
    for turn, index in enumerate(picked):
        kinds = [kind for kind in MIX if kind is not FaultKind.WRONG_SECRET or has_secret[index]]
        kind = kinds[turn % len(kinds)]
        if all(fault.kind is not kind for fault in chosen[index]):
            chosen[index].append(_DEFAULTS[kind])
    return [tuple(faults) for faults in chosen]


def wrong_password(password: bytes) -> bytes:
    """An LLS password of the same length and alphabet as `password`, but another one."""
    digest = hashlib.blake2b(b"wrong-password:" + password, digest_size=len(password) or 1).digest()
    alphabet = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
    wrong = bytes(alphabet[octet % len(alphabet)] for octet in digest)[: len(password)]
    return wrong if wrong != password else wrong[::-1] + b"x"


def wrong_key(key: bytes) -> bytes:
    """A key of the same length as `key`, but another one."""
    return hashlib.blake2b(b"wrong-key:" + key, digest_size=len(key)).digest()
