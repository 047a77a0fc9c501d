"""Polling schedules per meter group, as data: a JSON setting (HES_POLL_SCHEDULES) read into frozen groups.

A group is a brand and/or an area (with its sub-areas) and an interval in seconds per collection kind:

    [{"name": "hexcell-lagos", "brand": "hexcell", "area": "LAGOS", "registers": 1800, "events": 43200},
     {"name": "default", "registers": 900, "loadProfile": 86400, "billing": 86400, "events": 86400}]

A meter follows the first group it belongs to; the default group (no brand, no area) takes every other meter and
is added with the built-in intervals when the list has none. A kind a group leaves out takes the default group's
interval; `null` or 0 switches that kind off for the group.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from hes.connectivity.catalogue import CollectionKind

__all__ = ["DEFAULT_INTERVALS", "MAX_INTERVAL", "MIN_INTERVAL", "PollingGroup", "parse_polling_groups"]

_DAY = 86_400
# The defaults: registers every 15 minutes, load profile, billing and event logs daily.
DEFAULT_INTERVALS: Mapping[CollectionKind, int] = MappingProxyType(
    {
        CollectionKind.REGISTERS: 900,
        CollectionKind.LOAD_PROFILE: _DAY,
        CollectionKind.BILLING: _DAY,
        CollectionKind.EVENTS: _DAY,
    }
)
MIN_INTERVAL = 60  # one polling tick: a shorter interval could not be honoured
MAX_INTERVAL = 31 * _DAY
_WIRE_KINDS = {"registers": CollectionKind.REGISTERS, "loadProfile": CollectionKind.LOAD_PROFILE}
_WIRE_KINDS |= {"billing": CollectionKind.BILLING, "events": CollectionKind.EVENTS}
_KEYS = frozenset({"name", "brand", "area"} | set(_WIRE_KINDS))


@dataclass(frozen=True)
class PollingGroup:
    """Meters of a brand and/or area and how often each kind is collected from them (seconds; absent: off)."""

    name: str
    brand: str | None = None  # lower case
    area: str | None = None  # an area code or name; its sub-areas belong to it too
    intervals: Mapping[CollectionKind, int] = field(default_factory=lambda: DEFAULT_INTERVALS)

    @property
    def is_default(self) -> bool:
        """Whether the group takes every meter (no brand, no area)."""
        return self.brand is None and self.area is None


def parse_polling_groups(text: str | None) -> tuple[PollingGroup, ...]:
    """The groups a HES_POLL_SCHEDULES value describes, the default group last; empty text: the default alone.

    Raises:
        ValueError: every problem found (not JSON, unknown keys, intervals out of range, two default groups).
    """
    if not text or not text.strip():
        return (PollingGroup("default"),)
    try:
        document = json.loads(text)
    except ValueError as error:
        raise ValueError(f"HES_POLL_SCHEDULES is not JSON: {error}") from None
    if not isinstance(document, list):
        raise ValueError("HES_POLL_SCHEDULES is a JSON list of groups")
    problems: list[str] = []
    raw_default = next((raw for raw in document if isinstance(raw, dict) and _is_default(raw)), None)
    defaults = dict(DEFAULT_INTERVALS)
    if raw_default is not None:
        defaults = _intervals(raw_default, defaults, "default group", problems)
    groups: list[PollingGroup] = []
    for number, raw in enumerate(document, start=1):
        where = f"group {number}"
        if not isinstance(raw, dict):
            problems.append(f"{where} is not an object")
            continue
        problems += [f"{where}: unknown key {key!r}" for key in raw if key not in _KEYS]
        name = raw.get("name", where)
        brand, area = raw.get("brand"), raw.get("area")
        for label, value in (("name", name), ("brand", brand), ("area", area)):
            if value is not None and (not isinstance(value, str) or not value.strip()):
                problems.append(f"{where}: {label} is a non-empty text")
        if _is_default(raw):
            continue
        intervals = _intervals(raw, defaults, where, problems)
        groups.append(PollingGroup(str(name), _lower(brand), _text(area), MappingProxyType(intervals)))
    if sum(1 for raw in document if isinstance(raw, dict) and _is_default(raw)) > 1:
        problems.append("only one group may have neither brand nor area")
    if problems:
        raise ValueError("HES_POLL_SCHEDULES: " + "; ".join(problems))
    default_name = str(raw_default.get("name", "default")) if raw_default is not None else "default"
    return (*groups, PollingGroup(default_name, intervals=MappingProxyType(defaults)))


def _is_default(raw: Mapping[str, Any]) -> bool:
    return raw.get("brand") is None and raw.get("area") is None


def _intervals(
    raw: Mapping[str, Any], defaults: Mapping[CollectionKind, int], where: str, problems: list[str]
) -> dict[CollectionKind, int]:
    intervals = dict(defaults)
    for key, kind in _WIRE_KINDS.items():
        if key not in raw:
            continue
        value = raw[key]
        if value is None or value == 0:
            intervals.pop(kind, None)
        elif not isinstance(value, int) or isinstance(value, bool) or not MIN_INTERVAL <= value <= MAX_INTERVAL:
            problems.append(f"{where}: {key} is seconds from {MIN_INTERVAL} to {MAX_INTERVAL}, 0 or null (off)")
        else:
            intervals[kind] = value
    return intervals


def _lower(value: object) -> str | None:
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None
