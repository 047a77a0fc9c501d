"""The Hexcell/IBEDC "AMI System Unified OBIS List" (tab-separated) as profile objects.

The list has three tables. The first lists objects under numbered categories ("1 Product Information"): class id,
OBIS code as 12 hex digits, the attributes' rights ("2:R;3:R;"), method ids, the value's type and length, scaler
and unit. The second and third list the load profiles and event logs with their capture objects; the third
(three-phase, a superset of the second's logs, whose event-log rows are also shifted by a column) is used.
The list names one client: 0x0011 (client SAP 17, LLS). Rules for what the list leaves open:
- attribute 1 (logical_name) is readable: every COSEM object's is (Blue Book 4.1.2);
- attribute names and types other than the value's come from the standard (Blue Book chapter 4);
- an attribute the class does not have is dropped (two Data objects list a scaler_unit, attribute 3);
- a row without a class id but with a scaler_unit attribute (3) and a scaler is a Register (class 3);
- "[TOU n]" in a name follows the OBIS code's tariff (group E): one row copies "[TOU 1]" into TOU 2-4;
- a "Last n month" object's billing period (group F) is n: one row repeats the 12th month's code for the 11th;
- a profile's capture_objects, capture_period, sort and entry counts are readable like its buffer: a client
  cannot interpret a buffer without them (the list gives only attribute 2);
- an object captured by a profile but absent from the first table is added with its captured attribute readable;
- capture rows without a class or OBIS code are left out (logged);
- the errata below fix single rows, each with its reason.
"""

from __future__ import annotations

import csv
import logging
import re
from pathlib import Path

from hes.obis.build_profiles.common import (
    BuildObject,
    attribute_count,
    class_version,
    clean_text,
    normalise_type,
    standard_members,
)
from hes.obis.codes import ObisCode
from hes.obis.profiles import ClientRole
from hes.obis.units import unit_code

__all__ = ["HEXCELL_CLIENTS", "parse_hexcell"]

logger = logging.getLogger(__name__)

HEXCELL_CLIENTS = (ClientRole("utility", 0x11),)
_CLIENTS = len(HEXCELL_CLIENTS)
_PRESENT = "√"
_OBIS_HEX = re.compile(r"\{?([0-9A-Fa-f]{12})\}?")
_RIGHT = re.compile(r"([0-9]+):(RW|R|W)")
_CATEGORY = re.compile(r"[0-9]+\s+(.+)")
_TOU = re.compile(r"\[TOU [0-9]+\]")
_LAST_MONTH = re.compile(r"\bLast ([0-9]+ )?month\b")
_PROFILE_RIGHTS = {1: "R", 2: "R", 3: "R", 4: "R", 5: "R", 6: "R", 7: "R", 8: "R"}
_CAPTURED_GROUP = "Captured objects"
# Single-row fixes: OBIS -> (methods the object has, why).
_METHOD_ERRATA = {
    "0-0:96.3.10.255": ((1, 2), "its name lists Disconnect and Connect; the Method Id cell gives only 1"),
}


def parse_hexcell(path: Path) -> list[BuildObject]:
    """The objects of the Hexcell list at `path`: the first table's, then the profiles of the last table.

    Raises:
        ValueError: a row the rules cannot place (an unknown class, type or unit), naming its line.
    """
    rows = _read_rows(path)
    object_tables = [index for index, (_line, cells) in enumerate(rows) if cells[:2] == ["YES/NO", "Name/Attributes"]]
    profile_tables = [index for index, (_line, cells) in enumerate(rows) if cells[3] == "Capture Object's name"]
    if not object_tables or not profile_tables:
        raise ValueError(f"{path.name}: expected an object table and a profile table")
    tables = (object_tables[0], profile_tables[0], profile_tables[-1])
    objects: dict[ObisCode, BuildObject] = {}
    group = ""
    for line, cells in rows[tables[0] + 1 : tables[1]]:
        try:
            group = _object_row(cells, group, objects)
        except ValueError as error:
            raise ValueError(f"{path.name} line {line}: {error}") from None
    profile: BuildObject | None = None
    references: list[str] = []
    for line, cells in rows[tables[2] + 1 :]:
        if cells[0] not in ("", _PRESENT):
            break  # the table ends where the notes on GPRS log-in and communication parameters begin
        try:
            profile, references = _profile_row(cells, line, objects, profile, references)
        except ValueError as error:
            raise ValueError(f"{path.name} line {line}: {error}") from None
    _close_profile(profile, references)
    return list(objects.values())


def _read_rows(path: Path) -> list[tuple[int, list[str]]]:
    """Each row with the line it starts on, padded to 12 cells."""
    numbered = []
    with path.open(encoding="utf-8", newline="") as source:
        reader = csv.reader(source, delimiter="\t")
        line = 1
        for row in reader:
            numbered.append((line, [cell.strip() for cell in row] + [""] * (12 - len(row))))
            line = reader.line_num + 1
    return numbered


def _object_row(cells: list[str], group: str, objects: dict[ObisCode, BuildObject]) -> str:
    present, name, class_text, obis_text, rights_text, method_text, type_text, size, scaler, unit = cells[:10]
    category = _CATEGORY.fullmatch(name)
    if not present and not class_text and category is not None:
        return category.group(1).strip().capitalize()
    if present != _PRESENT:
        return group
    obis = _obis(obis_text)
    rights = {int(index): right for index, right in _RIGHT.findall(rights_text)}
    if not class_text:
        if 3 not in rights or not scaler:
            raise ValueError(f"{obis} has no class id")
        class_text = "3"
        logger.debug("hexcell: %s has no class id; a Register (3) by its scaler_unit", obis)
    class_id = int(class_text)
    for index in [index for index in rights if index > attribute_count(class_id)]:
        logger.info("hexcell: %s is class %d, which has no attribute %d; dropped", obis, class_id, index)
        del rights[index]
    name = clean_text(name)
    last = _LAST_MONTH.search(name)
    if last is not None and obis.f != int(last.group(1) or 1):
        fixed = ObisCode(obis.a, obis.b, obis.c, obis.d, obis.e, int(last.group(1) or 1))
        logger.info("hexcell: %r has billing period %d in its name; %s becomes %s", name, fixed.f, obis, fixed)
        obis = fixed
    if _TOU.search(name) and 1 <= obis.e <= 8:
        name = _TOU.sub(f"[TOU {obis.e}]", name)
    methods: tuple[int, ...] = tuple(int(index) for index in method_text.split(",") if index.strip())
    if str(obis) in _METHOD_ERRATA:
        methods, reason = _METHOD_ERRATA[str(obis)]
        logger.info("hexcell: %s gets methods %s: %s", obis, methods, reason)
    spec = _object(obis, class_id, name, group, {1: "R", **rights}, methods)
    if type_text and 2 in spec.attributes:
        spec.attributes[2].data_type = _sized(type_text, size)
    if scaler:
        spec.scaler, spec.unit = int(scaler), unit_code(unit) if unit else None
    if obis in objects:
        raise ValueError(f"{obis} listed twice")
    objects[obis] = spec
    return group


def _profile_row(
    cells: list[str],
    line: int,
    objects: dict[ObisCode, BuildObject],
    profile: BuildObject | None,
    references: list[str],
) -> tuple[BuildObject | None, list[str]]:
    present, function, _description, captured_name, class_text, obis_text, attribute, _method = cells[:8]
    type_text, size, scaler, unit = cells[8:12]
    if present == _PRESENT:
        _close_profile(profile, references)
        obis = _obis(obis_text)
        spec = _object(obis, int(class_text), clean_text(function), _group_of(obis), _PROFILE_RIGHTS, ())
        if obis in objects:
            raise ValueError(f"profile {obis} listed twice")
        objects[obis] = spec
        return spec, []
    if profile is None or not any(cells) or (function and not class_text):
        return profile, references  # before the first profile, an empty row, or a heading ("Event Logs")
    if not class_text or not obis_text:
        logger.info("hexcell line %d: capture row of %s without class or OBIS code; left out", line, profile.obis)
        return profile, references
    class_id, obis, index = int(class_text), _obis(obis_text), int(attribute or "2")
    references.append(f"{{{class_id},{obis},{index},0}}")
    if obis not in objects:
        name = clean_text(captured_name) or f"Captured {obis}"
        rights = {1: "R", index: "R", **({3: "R"} if scaler else {})}
        spec = _object(obis, class_id, name, _CAPTURED_GROUP, rights, ())
        if type_text and index == 2:
            spec.attributes[2].data_type = _sized(type_text, size)
        if scaler:
            spec.scaler, spec.unit = int(scaler), unit_code(unit) if unit else None
        objects[obis] = spec
        logger.info("hexcell: %s (%s) added: captured by %s", obis, name, profile.obis)
    return profile, references


def _close_profile(profile: BuildObject | None, references: list[str]) -> None:
    if profile is not None:
        profile.attributes[3].default = " ".join(references)


def _group_of(obis: ObisCode) -> str:
    # The profile table's only headings are "Load profiles" and "Event Logs": name the group from the OBIS code.
    return "Load profiles" if obis.c == 99 and obis.d == 1 else "Event logs"


def _object(
    obis: ObisCode, class_id: int, name: str, group: str, rights: dict[int, str], methods: tuple[int, ...]
) -> BuildObject:
    attributes, method_members = standard_members(class_id, rights, methods, _CLIENTS)
    spec = BuildObject(obis, class_id, class_version(class_id), name, group)
    spec.attributes, spec.methods = attributes, method_members
    return spec


def _obis(text: str) -> ObisCode:
    match = _OBIS_HEX.fullmatch(text)
    if match is None:
        raise ValueError(f"OBIS code {text!r} is not 12 hex digits")
    return ObisCode.parse(bytes.fromhex(match.group(1)))


def _sized(type_text: str, size: str) -> str:
    """The value's type; strings and bit-strings keep the list's length (octets; bits for a bit-string)."""
    data_type = normalise_type("octet-string" if type_text.lower() in ("date_time", "date-time") else type_text)
    if data_type in ("octet-string", "visible-string", "bit-string") and size.isdigit():
        return f"{data_type}[{size}]"
    return data_type
