"""Brand profiles: the COSEM objects a meter brand offers, read from package data (one CSV file per brand).

A profile file is `hes/obis/data/<brand>.csv`. It may open with `#` comment lines; a `# extends: <brand>` line
among them makes the profile start from that brand's objects (its own objects replace those with the same
logical name). Then a CSV header and one row per attribute or method of an object:

    obis, class_id, version, object, group, scaler, unit    the object, the same on each of its rows
    member (attribute | method), index, name, type, default the attribute or method
    access.<role>.<client SAP> ...                          one column per client: R, W, RW (attributes), X
                                                            (methods) or - (none)

`type` is an IEC 62056-6-2 data type name, optionally with a size (`octet-string[12]`: octets; bits for a
bit-string). `unit` is a Blue Book symbol (`Wh`, `V`); a scaler without a unit is "unitless". A register's default
value is in its unit (115 with scaler -1 and unit V is 115 V). The default of a capture_objects or
push_object_list attribute lists object references: `{class_id,obis,attribute,data_index} ...`.
Adding a brand is adding a file; no code changes.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from hes.obis.codes import ObisCode
from hes.obis.profile_types import (
    Access,
    AttributeSpec,
    BrandProfile,
    ClientRole,
    CosemObjectSpec,
    MethodSpec,
    ObjectReference,
)
from hes.obis.units import UNITLESS, unit_code

__all__ = [
    "COLUMNS",
    "DATA_TYPE_NAMES",
    "MAX_ROWS",
    "Access",
    "AttributeSpec",
    "BrandProfile",
    "ClientRole",
    "CosemObjectSpec",
    "MethodSpec",
    "ObjectReference",
    "ProfileError",
    "available_brands",
    "load_profile",
    "parse_profile",
    "parse_references",
    "parse_type",
    "read_profile",
]

# The fixed columns; the first seven describe the object and repeat on each of its rows. Access columns follow.
COLUMNS: tuple[str, ...] = ("obis", "class_id", "version", "object", "group", "scaler", "unit")
COLUMNS += ("member", "index", "name", "type", "default")
_OBJECT_COLUMNS = 7
# Most rows one profile file may hold: the largest brand (Hexing on IDIS) has about 2,000; more is a runaway file.
MAX_ROWS = 50_000

# IEC 62056-6-2 4.1.5: the Data CHOICE alternatives, spelled as the standard's ASN.1 does.
DATA_TYPE_NAMES = frozenset(
    {
        "null-data",
        "array",
        "structure",
        "boolean",
        "bit-string",
        "double-long",
        "double-long-unsigned",
        "octet-string",
        "visible-string",
        "utf8-string",
        "bcd",
        "integer",
        "long",
        "unsigned",
        "long-unsigned",
        "compact-array",
        "long64",
        "long64-unsigned",
        "enum",
        "float32",
        "float64",
        "date-time",
        "date",
        "time",
    }
)
_INTEGER_TYPES = frozenset({"double-long", "double-long-unsigned", "integer", "long", "unsigned", "long-unsigned"})
_INTEGER_TYPES |= {"long64", "long64-unsigned", "enum"}
_ATTRIBUTE_RIGHTS = frozenset({"-", "R", "W", "RW"})
_METHOD_RIGHTS = frozenset({"-", "X"})
_BRAND = re.compile(r"[a-z0-9][a-z0-9_-]*")
_EXTENDS = re.compile(r"#\s*extends:\s*(\S+)\s*")
_ACCESS_COLUMN = re.compile(r"access\.([a-z][a-z0-9_]*)\.([0-9]{1,5})")
_TYPE = re.compile(r"([a-z0-9-]+)(?:\[([0-9]{1,5})\])?")
_REFERENCE = re.compile(r"\s*\{\s*([0-9]+)\s*,\s*([^,{}\s]+)\s*,\s*(-?[0-9]+)\s*,\s*([0-9]+)\s*\}\s*")


class ProfileError(ValueError):
    """A profile that cannot be read; the message names the file and line."""


def _data_directory() -> Traversable:
    return resources.files("hes.obis").joinpath("data")


def available_brands() -> tuple[str, ...]:
    """The brands with a profile file in the package data, sorted."""
    names = (item.name for item in _data_directory().iterdir())
    return tuple(sorted(name.removesuffix(".csv") for name in names if name.endswith(".csv")))


@functools.lru_cache(maxsize=32)
def load_profile(brand: str) -> BrandProfile:
    """The profile of `brand` from the package data (cached: profiles are immutable).

    Raises:
        ProfileError: no such brand, or its file (or one it extends) is malformed.
    """
    return _load(brand.strip().lower(), ())


def _load(brand: str, chain: tuple[str, ...]) -> BrandProfile:
    if not _BRAND.fullmatch(brand):
        raise ProfileError(f"{brand!r} is not a brand name")
    if brand in chain:
        raise ProfileError(f"profiles extend each other in a loop: {' -> '.join((*chain, brand))}")
    source = _data_directory().joinpath(f"{brand}.csv")
    if not source.is_file():
        raise ProfileError(f"no profile for brand {brand!r} (known: {', '.join(available_brands()) or 'none'})")
    return parse_profile(source.read_text(encoding="utf-8"), brand, lambda name: _load(name, (*chain, brand)))


def read_profile(path: Path | str, base: Callable[[str], BrandProfile] = load_profile) -> BrandProfile:
    """A profile from a file outside the package; the brand is the file name without .csv.

    Raises:
        ProfileError: the file is malformed (the message names the line) or not UTF-8.
        OSError: the file cannot be read.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ProfileError(f"{path.name} is not UTF-8 text (octet {error.start})") from None
    return parse_profile(text, path.stem, base)


def parse_profile(text: str, brand: str, base: Callable[[str], BrandProfile] = load_profile) -> BrandProfile:
    """A profile from the text of its file; `base` loads the brand an `# extends:` line names.

    Raises:
        ProfileError: the text is malformed; the message names `<brand>.csv` and the line.
    """
    lines = text.splitlines()
    extends: str | None = None
    first = 0
    while first < len(lines) and (lines[first].startswith("#") or not lines[first].strip()):
        directive = _EXTENDS.fullmatch(lines[first])
        extends = directive.group(1) if directive is not None else extends
        first += 1
    clients, objects = _RowReader(f"{brand}.csv", first).read(lines[first:])
    if extends is None:
        return BrandProfile(brand, clients, objects)
    try:
        parent = base(extends)
    except ProfileError as error:
        raise ProfileError(f"{brand}.csv extends {extends!r}: {error}") from None
    own = {spec.obis: spec for spec in objects}
    merged = [own.pop(spec.obis, spec) for spec in parent.objects]
    merged.extend(spec for spec in objects if spec.obis in own)
    known = {role.sap for role in parent.clients}
    roles = parent.clients + tuple(role for role in clients if role.sap not in known)
    return BrandProfile(brand, roles, tuple(merged), extends=parent.brand)


def parse_type(text: str) -> tuple[str, int | None]:
    """A profile type ("octet-string[12]") as its name and optional size.

    Raises:
        ValueError: not an IEC 62056-6-2 type name.
    """
    match = _TYPE.fullmatch(text.strip())
    if match is None or match.group(1) not in DATA_TYPE_NAMES:
        raise ValueError(f"{text!r} is not a data type (e.g. double-long-unsigned, octet-string[12])")
    return match.group(1), None if match.group(2) is None else int(match.group(2))


def parse_references(text: str) -> tuple[ObjectReference, ...]:
    """Object references written `{class_id,obis,attribute,data_index} ...`.

    Raises:
        ValueError: anything else, or a bad OBIS code.
    """
    references: list[ObjectReference] = []
    position = 0
    while position < len(text):
        match = _REFERENCE.match(text, position)
        if match is None:
            raise ValueError(f"object references are written {{class_id,obis,attribute,data_index}}: {text!r}")
        class_id, obis, attribute, data_index = match.groups()
        references.append(ObjectReference(int(class_id), ObisCode.parse(obis), int(attribute), int(data_index)))
        position = match.end()
    return tuple(references)


@dataclass
class _Draft:
    """The object being read: its columns, first line, and members so far."""

    columns: list[str]
    line: int
    spec: CosemObjectSpec
    attributes: list[AttributeSpec] = field(default_factory=list)
    methods: list[MethodSpec] = field(default_factory=list)

    def finish(self) -> CosemObjectSpec:
        return replace(self.spec, attributes=tuple(self.attributes), methods=tuple(self.methods))


class _RowReader:
    """Reads the CSV part of a profile file into client roles and objects, naming the line of any problem."""

    def __init__(self, filename: str, offset: int) -> None:
        self.filename = filename
        self.offset = offset  # comment lines before the header

    def fail(self, line: int, message: str) -> ProfileError:
        return ProfileError(f"{self.filename} line {line}: {message}")

    def read(self, lines: Iterable[str]) -> tuple[tuple[ClientRole, ...], tuple[CosemObjectSpec, ...]]:
        rows = csv.reader(lines)
        header = [cell.strip() for cell in next(rows, [])]
        if tuple(header[: len(COLUMNS)]) != COLUMNS:
            raise self.fail(self.offset + 1, f"the header must start {','.join(COLUMNS)}")
        roles = tuple(self._role(name) for name in header[len(COLUMNS) :])
        if not roles or len({role.sap for role in roles}) != len(roles):
            raise self.fail(self.offset + 1, "give one access.<role>.<client SAP> column per client, at least one")
        objects: list[CosemObjectSpec] = []
        first_lines: dict[ObisCode, int] = {}
        draft: _Draft | None = None
        for row in rows:
            line = self.offset + rows.line_num
            if rows.line_num > MAX_ROWS:
                raise self.fail(line, f"a profile holds at most {MAX_ROWS} rows")
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise self.fail(line, f"{len(row)} cells where the header has {len(header)}")
            cells = [cell.strip() for cell in row]
            if draft is None or cells[:_OBJECT_COLUMNS] != draft.columns:
                if draft is not None:
                    objects.append(self._close(draft))
                draft = _Draft(cells[:_OBJECT_COLUMNS], line, self._object(line, cells))
                if draft.spec.obis in first_lines:
                    first = first_lines[draft.spec.obis]
                    raise self.fail(line, f"object {draft.spec.obis} again (first at line {first}); keep rows together")
                first_lines[draft.spec.obis] = line
            self._member(line, cells, roles, draft)
        if draft is not None:
            objects.append(self._close(draft))
        return roles, tuple(objects)

    def _role(self, name: str) -> ClientRole:
        match = _ACCESS_COLUMN.fullmatch(name)
        if match is None:
            raise self.fail(self.offset + 1, f"column {name!r} is not access.<role>.<client SAP>")
        return ClientRole(match.group(1), int(match.group(2)))

    def _object(self, line: int, cells: list[str]) -> CosemObjectSpec:
        obis_text, class_id, version, name, group, scaler, unit = cells[:_OBJECT_COLUMNS]
        try:
            obis = ObisCode.parse(obis_text)
        except ValueError as error:
            raise self.fail(line, str(error)) from None
        if not name:
            raise self.fail(line, "the object has no name")
        if unit and not scaler:
            raise self.fail(line, f"unit {unit!r} without a scaler")
        try:
            unit_value = (unit_code(unit) if unit else UNITLESS) if scaler else None
        except ValueError as error:
            raise self.fail(line, str(error)) from None
        return CosemObjectSpec(
            obis,
            self._integer(line, "class_id", class_id, 0, 0xFFFF),
            self._integer(line, "version", version, 0, 0xFF),
            name,
            group,
            (),
            scaler=self._integer(line, "scaler", scaler, -128, 127) if scaler else None,
            unit=unit_value,
        )

    def _member(self, line: int, cells: list[str], roles: tuple[ClientRole, ...], draft: _Draft) -> None:
        member, index_text, name, type_text, default = cells[_OBJECT_COLUMNS : len(COLUMNS)]
        rights = cells[len(COLUMNS) :]
        if member not in ("attribute", "method"):
            raise self.fail(line, f"member {member!r} is neither attribute nor method")
        index = self._integer(line, "index", index_text, 1, 127)  # attribute and method ids are Integer8
        if not name:
            raise self.fail(line, f"{member} {index} has no name")
        try:
            data_type, size = parse_type(type_text) if type_text else (None, None)
        except ValueError as error:
            raise self.fail(line, str(error)) from None
        allowed = _ATTRIBUTE_RIGHTS if member == "attribute" else _METHOD_RIGHTS
        wrong = next((right for right in rights if right not in allowed), None)
        if wrong is not None:
            raise self.fail(line, f"access {wrong!r} of a {member}; write one of {', '.join(sorted(allowed))}")
        access = tuple((role.sap, Access.parse(right)) for role, right in zip(roles, rights, strict=True))
        if member == "method":
            if any(spec.index == index for spec in draft.methods):
                raise self.fail(line, f"method {index} of {draft.spec.obis} twice")
            draft.methods.append(MethodSpec(index, name, data_type, access))
            return
        if data_type is None:
            raise self.fail(line, f"attribute {index} has no type")
        if any(spec.index == index for spec in draft.attributes):
            raise self.fail(line, f"attribute {index} of {draft.spec.obis} twice")
        if default and data_type in _INTEGER_TYPES:
            self._number(line, default, decimal=draft.spec.scaler is not None)
        try:
            references = parse_references(default) if default.startswith("{") else ()
        except ValueError as error:
            raise self.fail(line, str(error)) from None
        draft.attributes.append(AttributeSpec(index, name, data_type, size, default or None, access, references))

    def _close(self, draft: _Draft) -> CosemObjectSpec:
        if not any(spec.index == 1 for spec in draft.attributes):
            raise self.fail(draft.line, f"object {draft.spec.obis} has no attribute 1 (logical_name)")
        return draft.finish()

    def _number(self, line: int, text: str, decimal: bool) -> None:
        # A register's default is in its unit (115 with scaler -1 and V is 115 V), so it may have decimals.
        try:
            float(text) if decimal else int(text)
        except ValueError:
            raise self.fail(line, f"default {text!r} is not a {'number' if decimal else 'whole number'}") from None

    def _integer(self, line: int, column: str, text: str, low: int, high: int) -> int:
        try:
            value = int(text)
        except ValueError:
            raise self.fail(line, f"{column} {text!r} is not a whole number") from None
        if not low <= value <= high:
            raise self.fail(line, f"{column} {value} is outside {low}..{high}")
        return value
