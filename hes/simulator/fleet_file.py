"""A fleet file (YAML or JSON) read into a `FleetSpec`; the layout is in hes.simulator.fleet's docstring."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from hes.simulator.faults import parse_fault_shares
from hes.simulator.fleet import FleetError, FleetSpec, MeterGroup, build_fleet, parse_group

__all__ = ["load_fleet_file", "parse_fleet"]

_FLEET_KEYS = frozenset(
    {"seed", "host", "base_port", "hdlc_port", "latency_ms", "fault_share", "fault_shares", "meters"}
)


def parse_fleet(document: Any) -> FleetSpec:
    """The fleet a parsed fleet file describes (see hes.simulator.fleet's docstring for the layout).

    Raises:
        FleetError: every problem found in the document.
    """
    if not isinstance(document, dict):
        raise FleetError(["a fleet file holds a mapping with a 'meters' list"])
    problems = [f"unknown key {key!r}" for key in document if key not in _FLEET_KEYS]
    numbers: dict[str, int | None] = {}
    for key, default in (("seed", 7), ("base_port", 4100), ("hdlc_port", None), ("latency_ms", 0)):
        value = document.get(key, default)
        if (value is not None or key != "hdlc_port") and (not isinstance(value, int) or isinstance(value, bool)):
            problems.append(f"{key} is a whole number")
        numbers[key] = value
    host = document.get("host", "127.0.0.1")
    if not isinstance(host, str):
        problems.append("host is an IP address")
    raw_groups = document.get("meters")
    if not isinstance(raw_groups, list) or not raw_groups:
        problems.append("meters is a non-empty list of meter groups")
        raw_groups = []
    groups: list[MeterGroup] = []
    for number, raw in enumerate(raw_groups, start=1):
        group, group_problems = parse_group(raw, f"meters[{number}]")
        problems += group_problems
        if group is not None:
            groups.append(group)
    shares, share_problems = parse_fault_shares(document.get("fault_share"), document.get("fault_shares"))
    problems += share_problems
    if problems:
        raise FleetError(problems)
    return build_fleet(
        groups,
        seed=numbers["seed"] or 0,
        host=host,
        base_port=numbers["base_port"] or 0,
        hdlc_port=numbers["hdlc_port"],
        latency_ms=numbers["latency_ms"] or 0,
        fault_shares=shares,
    )


def load_fleet_file(path: Path) -> FleetSpec:
    """Read a fleet file: JSON for *.json, YAML otherwise when PyYAML is installed (YAML is a superset of JSON).

    Raises:
        FleetError: the file cannot be read or parsed, or describes a fleet that cannot run.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise FleetError([f"cannot read {path}: {error}"]) from error
    is_json = path.suffix.lower() == ".json"
    try:
        document = json.loads(text) if is_json else _yaml_load(text)
    except ValueError as error:
        raise FleetError([f"{path} is not valid {'JSON' if is_json else 'YAML'}: {error}"]) from error
    return parse_fleet(document)


def _yaml_load(text: str) -> Any:
    """Parse YAML with PyYAML when installed (it comes with uvicorn[standard]); else the text must be JSON."""
    try:
        yaml = importlib.import_module("yaml")  # no type stubs installed: loaded dynamically, used as Any
    except ImportError:
        return json.loads(text)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValueError(str(error)) from error
