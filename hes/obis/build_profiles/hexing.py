"""The Hexing "OBIS Function" table (tab-separated, quoted multi-line cells) as profile objects.

The table lists the power-quality objects of Hexing's IDIS-based meters: an object row (version "0", the OBIS code
in the "OBIS Code & Default Value" column) followed by one row per attribute (a1, a2, ...) or method (m1) with its
type, default value and the right of each client (Public 16, Pre.Est. 102, Management 1, Reading 2; "\\" is none).
Rules for what the table leaves open:
- rows marked 废弃 (deprecated) are left out, and so is an object left with no attributes;
- an OBIS code ending in ".Y" stands for the billing periods its comment gives ("101<=Y<=112"): one object each;
- where a scaler_unit or default differs per meter variant ("3P CT: ... 1P: ..."), the single-phase (1P) value
  is kept: the simulated fleet is mostly single-phase residential meters;
- vendor structure types (Load_allocation, interrupt_para, ...) are `structure`, as their comments describe;
- a default value is kept only when it is a number (prose such as "less than 20% VREF" is dropped);
- the logical_name column's hex is only checked against the OBIS code (it is copied wrongly in a few rows).
"""

from __future__ import annotations

import csv
import logging
import re
from pathlib import Path

from hes.obis.build_profiles.common import BuildObject, Member, clean_text, normalise_type
from hes.obis.codes import ObisCode
from hes.obis.profiles import ClientRole
from hes.obis.units import UNIT_SYMBOLS

__all__ = ["HEXING_CLIENTS", "parse_hexing"]

logger = logging.getLogger(__name__)

# The table's access-right columns, in order: the same client SAPs as IDIS.
HEXING_CLIENTS = (
    ClientRole("public", 16),
    ClientRole("pre_established", 102),
    ClientRole("management", 1),
    ClientRole("reading", 2),
)
_FUNCTION, _CLASS, _VERSION, _ORIGIN, _MEMBER, _NAME, _TYPE, _VALUE = range(8)
_RIGHTS = slice(10, 14)
_XML_COMMENT = 15
_DEPRECATED = "废弃"
_VARIANT = "1P"
_MEMBER_ID = re.compile(r"([am])([0-9]+)")
_OBIS = re.compile(r"[0-9]+-[0-9]+:[0-9]+\.[0-9]+\.[0-9]+\.([0-9]+|Y)")
_PERIODS = re.compile(r"([0-9]+)<=y<=[0-9]+;([0-9]+)<=Y<=([0-9]+)")
_SCALER_UNIT = re.compile(r"[{(]\s*(-?[0-9]+)\s*[,.]\s*([0-9]+)\s*[})]")
_VARIANT_LINE = re.compile(r"\s*([^:]+?)\s*:\s*(.+?)\s*")

# The "Function" column (category//sub-category, in Chinese) in English.
_GROUP_WORDS = {
    "电网质量": "Power quality",
    "电网质量量": "Power quality",  # a typo of 电网质量 in one row
    "电量": "Energy",
    "时间相关": "Time thresholds",
    "判断电压": "Voltage thresholds",
    "判断电流": "Current thresholds",
    "判断功率": "Power thresholds",
    "判断功率因数": "Power factor thresholds",
    "判断频率": "Frequency thresholds",
    "判断需量": "Demand thresholds",
    "判断电能": "Energy thresholds",
    "判断电压角度": "Voltage angle thresholds",
    "判断最大电流": "Maximum current thresholds",
    "判断空载事件": "No-load thresholds",
    "判断失压电流": "Voltage loss current thresholds",
    "判断时间": "Event recording thresholds",
    "事件期间最大电压": "Maximum voltage during events",
    "事件期间最小电压": "Minimum voltage during events",
    "事件期间最大电流": "Maximum current during events",
    "电池欠压": "Low battery",
    "谐波": "Harmonics",
    "电压中断": "Voltage interruption",
    "电压中断时间": "Voltage interruption times",
    "窃电事件阈值": "Tamper thresholds",
    "延时": "Delays",
    "dic": "DIC (Brazil)",
    "fic": "FIC (Brazil)",
    "dmic": "DMIC (Brazil)",
}
# Vendor type names: structures (as their comments describe), and BCD[3], three octets of BCD digits.
_VENDOR_TYPES = {
    "scal_unit_type": "structure",
    "load_allocation": "structure",
    "period_max_power_threshold": "structure",
    "unbalance_load_detection_type": "structure",
    "voltage_qualification_rate_parameter": "structure",
    "interrupt_para": "structure",
    "bcd[3]": "octet-string[3]",
}


def parse_hexing(path: Path) -> list[BuildObject]:
    """The objects of the Hexing table at `path`, in table order.

    Raises:
        ValueError: a row the rules cannot place (an unknown category, type or unit), naming its line.
    """
    objects: list[BuildObject] = []
    current: list[BuildObject] = []  # the object(s) member rows belong to: several after a ".Y" expansion
    with path.open(encoding="utf-8", newline="") as source:
        rows = csv.reader(source, delimiter="\t")
        line = 1
        for row in rows:
            start, line = line, rows.line_num + 1
            cells = [cell.strip() for cell in row] + [""] * (17 - len(row))
            try:
                current = _place(cells, start, objects, current)
            except ValueError as error:
                raise ValueError(f"{path.name} line {start}: {error}") from None
    kept = []
    for spec in objects:
        if 1 in spec.attributes:
            kept.append(spec)
        else:
            logger.info("hexing: %s %s left out: no attributes that are not deprecated", spec.obis, spec.name)
    return kept


def _place(cells: list[str], line: int, objects: list[BuildObject], current: list[BuildObject]) -> list[BuildObject]:
    """Add the row to `objects` or to the current object(s); return the objects later member rows belong to."""
    version, member, value = cells[_VERSION], cells[_MEMBER], clean_text(cells[_VALUE])
    if cells[_FUNCTION].startswith("Function") or cells[_RIGHTS][0].startswith("Public") or not any(cells):
        return current
    if version == _DEPRECATED:
        if _OBIS.fullmatch(value):
            logger.info("hexing line %d: deprecated object %s left out", line, value)
            return []
        logger.info("hexing line %d: deprecated %s row left out", line, member)
        return current
    if version == "0":
        return _objects(cells, line, objects)
    match = _MEMBER_ID.fullmatch(member)
    if match is None:
        logger.info("hexing line %d: neither an object nor a member row; left out", line)
        return current
    if not current:
        logger.info("hexing line %d: member row of a deprecated object; left out", line)
        return current
    _member(cells, match.group(1) == "a", int(match.group(2)), current, line)
    return current


def _objects(cells: list[str], line: int, objects: list[BuildObject]) -> list[BuildObject]:
    obis_text = clean_text(cells[_VALUE])
    if not _OBIS.fullmatch(obis_text):
        raise ValueError(f"object row without an OBIS code ({obis_text!r})")
    name = clean_text(cells[_NAME])
    group = _group(cells[_FUNCTION])
    class_id = int(cells[_CLASS])
    variants = [(obis_text, name)]
    if obis_text.endswith(".Y"):
        periods = _PERIODS.search(cells[_XML_COMMENT])
        if periods is None:
            raise ValueError(f"{obis_text} ends in Y but its comment gives no range of Y")
        first_month, low, high = (int(group_) for group_ in periods.groups())
        base = obis_text.removesuffix("Y")
        variants = [(f"{base}{f}", name.replace("[y]", str(first_month + f - low))) for f in range(low, high + 1)]
    made = [BuildObject(ObisCode.parse(obis), class_id, 0, label, group) for obis, label in variants]
    objects.extend(made)
    return made


def _member(cells: list[str], is_attribute: bool, index: int, current: list[BuildObject], line: int) -> None:
    name = clean_text(cells[_NAME])
    raw_type = cells[_TYPE].lower()
    data_type = _VENDOR_TYPES.get(raw_type) or normalise_type(raw_type)
    rights = tuple("-" if right in ("", "\\") else right for right in cells[_RIGHTS])
    value = cells[_VALUE]
    if not is_attribute:
        member = Member(name, data_type, tuple("-" if right == "-" else "X" for right in rights))
        for spec in current:
            spec.methods.setdefault(index, member)
        return
    default = ""
    if name == "logical_name":
        for spec in current:
            if value and value.upper() != spec.obis.to_bytes().hex().upper():
                logger.info("hexing line %d: logical_name %s is not %s; OBIS column kept", line, value, spec.obis)
    elif name == "scaler_unit":
        scaler_unit = _scaler_unit(value)
        for spec in current:
            spec.scaler, spec.unit = scaler_unit if scaler_unit is not None else (None, None)
    else:
        chosen = _variant(value)
        default = chosen if re.fullmatch(r"-?[0-9]+", chosen) else ""
    for spec in current:
        if index in spec.attributes:
            logger.info("hexing line %d: attribute %d of %s again; first kept", line, index, spec.obis)
            continue
        spec.attributes[index] = Member(name, data_type, rights, default)


def _group(text: str) -> str:
    words = []
    for part in (part for part in clean_text(text).split("/") if part):
        if part not in _GROUP_WORDS:
            raise ValueError(f"category {part!r} has no English name in the build rules")
        if _GROUP_WORDS[part] not in words:
            words.append(_GROUP_WORDS[part])
    return " / ".join(words)


def _variant(text: str) -> str:
    """The single-phase value of a per-variant cell ("3P CT: 161 / 1P: 115"), or the cell itself."""
    lines = [_VARIANT_LINE.fullmatch(part) for part in text.splitlines() if part.strip()]
    if len(lines) > 1 and all(lines):
        variants = {match.group(1): match.group(2) for match in lines if match is not None}
        return variants.get(_VARIANT, next(iter(variants.values())))
    return clean_text(text)


def _scaler_unit(text: str) -> tuple[int, int] | None:
    if not text.strip():
        return None
    match = _SCALER_UNIT.search(clean_text(_variant(text)))
    if match is None:
        raise ValueError(f"scaler_unit {text!r} is not {{scaler,unit}}")
    scaler, unit = int(match.group(1)), int(match.group(2))
    if unit not in UNIT_SYMBOLS:
        raise ValueError(f"unit code {unit} is not in hes.obis.units")
    return scaler, unit
