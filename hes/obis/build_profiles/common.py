"""What both source parsers share: the interface-class catalogue, the object being built, the profile writer."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hes.obis.codes import ObisCode
from hes.obis.profiles import COLUMNS, ClientRole, parse_type
from hes.obis.units import UNIT_SYMBOLS, UNITLESS

# Standard members of the interface classes the sources use (Blue Book, DLMS UA 1000-1 ed. 12, chapter 4):
# class id -> (version, ((attribute name, type), ...) from attribute 1, ((method name, parameter type), ...)).
_CLASSES: dict[int, tuple[int, tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]] = {
    1: (0, (("logical_name", "octet-string[6]"), ("value", "octet-string")), ()),
    3: (
        0,
        (("logical_name", "octet-string[6]"), ("value", "double-long-unsigned"), ("scaler_unit", "structure")),
        (("reset", "integer"),),
    ),
    4: (
        0,
        (
            ("logical_name", "octet-string[6]"),
            ("value", "double-long-unsigned"),
            ("scaler_unit", "structure"),
            ("status", "unsigned"),
            ("capture_time", "octet-string[12]"),
        ),
        (("reset", "integer"),),
    ),
    7: (
        1,
        (
            ("logical_name", "octet-string[6]"),
            ("buffer", "array"),
            ("capture_objects", "array"),
            ("capture_period", "double-long-unsigned"),
            ("sort_method", "enum"),
            ("sort_object", "structure"),
            ("entries_in_use", "double-long-unsigned"),
            ("profile_entries", "double-long-unsigned"),
        ),
        (("reset", "integer"), ("capture", "integer")),
    ),
    8: (
        0,
        (
            ("logical_name", "octet-string[6]"),
            ("time", "octet-string[12]"),
            ("time_zone", "long"),
            ("status", "unsigned"),
            ("daylight_savings_begin", "octet-string[12]"),
            ("daylight_savings_end", "octet-string[12]"),
            ("daylight_savings_deviation", "integer"),
            ("daylight_savings_enabled", "boolean"),
            ("clock_base", "enum"),
        ),
        (("adjust_to_quarter", "integer"), ("adjust_to_measuring_period", "integer")),
    ),
    22: (
        0,
        (
            ("logical_name", "octet-string[6]"),
            ("executed_script", "structure"),
            ("type", "enum"),
            ("execution_time", "array"),
        ),
        (),
    ),
    70: (
        0,
        (
            ("logical_name", "octet-string[6]"),
            ("output_state", "boolean"),
            ("control_state", "enum"),
            ("control_mode", "enum"),
        ),
        (("remote_disconnect", "integer"), ("remote_reconnect", "integer")),
    ),
}


@dataclass
class Member:
    """One attribute or method on its way to a profile row: rights in the order of the brand's clients."""

    name: str
    data_type: str
    rights: tuple[str, ...]
    default: str = ""


@dataclass
class BuildObject:
    """One object on its way to profile rows."""

    obis: ObisCode
    class_id: int
    version: int
    name: str
    group: str
    scaler: int | None = None
    unit: int | None = None
    attributes: dict[int, Member] = field(default_factory=dict)
    methods: dict[int, Member] = field(default_factory=dict)

    def rows(self) -> list[list[str]]:
        """The profile rows of this object, attributes then methods, by index."""
        head = [str(self.obis), str(self.class_id), str(self.version), self.name, self.group]
        head += ["" if self.scaler is None else str(self.scaler), _unit_text(self.scaler, self.unit)]
        members = [("attribute", index, spec) for index, spec in sorted(self.attributes.items())]
        members += [("method", index, spec) for index, spec in sorted(self.methods.items())]
        return [
            [*head, kind, str(index), spec.name, spec.data_type, spec.default, *spec.rights]
            for kind, index, spec in members
        ]


def _unit_text(scaler: int | None, unit: int | None) -> str:
    if scaler is None:
        return ""
    return UNIT_SYMBOLS[UNITLESS if unit is None else unit]


def standard_members(
    class_id: int, attribute_rights: dict[int, str], method_indexes: Sequence[int], clients: int
) -> tuple[dict[int, Member], dict[int, Member]]:
    """Attributes and methods named and typed as the standard has them, each right given to all `clients`.

    Raises:
        ValueError: a class or member index the catalogue does not know.
    """
    if class_id not in _CLASSES:
        raise ValueError(f"class {class_id} is not in the build catalogue")
    _version, attribute_names, method_names = _CLASSES[class_id]
    attributes: dict[int, Member] = {}
    for index, right in attribute_rights.items():
        if not 1 <= index <= len(attribute_names):
            raise ValueError(f"class {class_id} has no attribute {index}")
        name, data_type = attribute_names[index - 1]
        attributes[index] = Member(name, data_type, (right,) * clients)
    methods: dict[int, Member] = {}
    for index in method_indexes:
        if not 1 <= index <= len(method_names):
            raise ValueError(f"class {class_id} has no method {index}")
        name, data_type = method_names[index - 1]
        methods[index] = Member(name, data_type, ("X",) * clients)
    return attributes, methods


def class_version(class_id: int) -> int:
    """The version the catalogue gives an interface class."""
    return _CLASSES[class_id][0]


def attribute_count(class_id: int) -> int:
    """How many attributes the standard gives an interface class (0 for a class outside the catalogue)."""
    return len(_CLASSES[class_id][1]) if class_id in _CLASSES else 0


def write_profile(
    path: Path, comments: Sequence[str], clients: Sequence[ClientRole], objects: Sequence[BuildObject]
) -> None:
    """Write a profile file: comment lines, the header, then each object's rows."""
    with path.open("w", encoding="utf-8", newline="") as out:
        out.writelines(f"# {line}\n" for line in comments)
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*COLUMNS, *(f"access.{role.name}.{role.sap}" for role in clients)])
        for spec in objects:
            writer.writerows(spec.rows())


# The full-width brackets and comma of the Chinese tables, as ASCII.
_FULL_WIDTH = str.maketrans({"\uff08": "(", "\uff09": ")", "\uff0c": ","})


def clean_text(text: str) -> str:
    """One line of text: full-width brackets made ASCII, runs of white space (and line breaks) one space."""
    text = text.translate(_FULL_WIDTH)
    return re.sub(r"\s+", " ", text).strip()


def normalise_type(text: str) -> str:
    """A source's data type spelling ("double long unsigned", "octet_string[6]") as a profile type.

    Raises:
        ValueError: not a data type.
    """
    spelled = re.sub(r"[\s_]+", "-", text.strip().lower())
    name, size = parse_type(spelled)
    return name if size is None else f"{name}[{size}]"
