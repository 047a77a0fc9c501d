"""The OBIS catalogue of a brand as the console shows it: objects by group, what a client may read, write, invoke."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from hes.errors import InvalidInput, NotFound, Problem
from hes.obis import Access, BrandProfile, ClientRole, CosemObjectSpec, ObisCode, available_brands, load_profile

# The client whose rights the catalogue shows by default: the utility's management client (IDIS: SAP 1),
# which reads everything, writes settings and invokes methods.
DEFAULT_CLIENT = "management"
# Every COSEM object's attribute 1 is its logical name, the OBIS code shown already: not a parameter.
_LOGICAL_NAME = 1


@dataclass(frozen=True, slots=True)
class MemberView:
    """An attribute or method: its index, name and IEC 62056-6-2 type (with size, if the profile gives one)."""

    index: int
    name: str
    data_type: str | None
    size: int | None = None


@dataclass(frozen=True, slots=True)
class ObjectView:
    """A COSEM object with what the client may read, write and invoke."""

    obis: ObisCode
    name: str
    class_id: int
    version: int
    group: str
    scaler: int | None
    unit: str | None
    readable: tuple[MemberView, ...]
    writable: tuple[MemberView, ...]
    methods: tuple[MemberView, ...]


_Match = Callable[[ObjectView], bool]


@dataclass(frozen=True, slots=True)
class GroupView:
    """Objects of one group, in profile order."""

    name: str
    objects: tuple[ObjectView, ...]


@dataclass(frozen=True)
class Catalogue:
    """A brand's objects for one client, by group; `total` counts the objects listed."""

    brand: str
    extends: str | None
    client: ClientRole
    clients: tuple[ClientRole, ...]
    groups: tuple[GroupView, ...]

    @property
    def total(self) -> int:
        """How many objects the groups hold."""
        return sum(len(group.objects) for group in self.groups)


@dataclass(frozen=True, slots=True)
class BrandSummary:
    """A brand with a profile: what it extends, its client roles, how many objects."""

    brand: str
    extends: str | None
    clients: tuple[ClientRole, ...]
    objects: int


def brands() -> list[BrandSummary]:
    """Every brand with a profile, sorted by name."""
    summaries = []
    for name in available_brands():
        profile = load_profile(name)
        summaries.append(BrandSummary(profile.brand, profile.extends, profile.clients, len(profile)))
    return summaries


def catalogue(brand: str, client: str | None = None, search: str | None = None, group: str | None = None) -> Catalogue:
    """The objects of `brand` for `client` (default: management), grouped, narrowed by `search` and `group`.

    `search` matches a name, group or OBIS code (part of one, or any spelling of a whole one), ignoring case;
    `group` is a group's whole name, ignoring case.

    Raises:
        NotFound: no profile for `brand`; the message and details list the known brands.
        InvalidInput: the brand has no client role `client`.
    """
    full = _full_catalogue(_brand_key(brand), (client or "").strip().lower() or None)
    wanted_group = group.strip().lower() if group and group.strip() else None
    match = _matcher(search.strip() if search and search.strip() else None)
    groups = []
    for view in full.groups:
        if wanted_group is not None and view.name.lower() != wanted_group:
            continue
        objects = tuple(spec for spec in view.objects if match(spec))
        if objects:
            groups.append(GroupView(view.name, objects))
    return Catalogue(full.brand, full.extends, full.client, full.clients, tuple(groups))


def _brand_key(brand: str) -> str:
    key = brand.strip().lower()
    known = available_brands()
    if key not in known:
        error = NotFound("brand", repr(brand.strip()))
        error.message = f"no OBIS profile for brand {brand.strip()!r}; known brands: {', '.join(known)}"
        error.problems = (Problem(f"known brands: {', '.join(known)}", field="brand"),)
        raise error
    return key


@functools.lru_cache(maxsize=64)
def _full_catalogue(brand: str, client: str | None) -> Catalogue:
    """The unfiltered catalogue (cached: profiles are immutable package data)."""
    profile = load_profile(brand)
    role = _client_role(profile, client)
    grouped: dict[str, list[ObjectView]] = {}
    for spec in profile:
        grouped.setdefault(spec.group or "Other", []).append(_object_view(spec, role.sap))
    groups = tuple(GroupView(name, tuple(objects)) for name, objects in grouped.items())
    return Catalogue(profile.brand, profile.extends, role, profile.clients, groups)


def _client_role(profile: BrandProfile, name: str | None) -> ClientRole:
    if name is not None:
        role = next((role for role in profile.clients if role.name == name), None)
        if role is None:
            names = ", ".join(role.name for role in profile.clients)
            raise InvalidInput("unknown client role", [Problem(f"{profile.brand} has clients {names}", field="client")])
        return role
    by_name = next((role for role in profile.clients if role.name == DEFAULT_CLIENT), None)
    # A brand without a management role (Hexcell lists one utility client): the client allowed most.
    return by_name or max(profile.clients, key=lambda role: _rights_count(profile, role.sap))


def _rights_count(profile: BrandProfile, sap: int) -> int:
    rights = 0
    for spec in profile:
        rights += sum(bin(attribute.access_for(sap)).count("1") for attribute in spec.attributes)
        rights += sum(Access.EXECUTE in method.access_for(sap) for method in spec.methods)
    return rights


def _object_view(spec: CosemObjectSpec, sap: int) -> ObjectView:
    attributes = [attribute for attribute in spec.attributes if attribute.index != _LOGICAL_NAME]
    return ObjectView(
        obis=spec.obis,
        name=spec.name,
        class_id=spec.class_id,
        version=spec.version,
        group=spec.group or "Other",
        scaler=spec.scaler,
        unit=spec.unit_symbol,
        readable=tuple(
            MemberView(item.index, item.name, item.data_type, item.size)
            for item in attributes
            if Access.READ in item.access_for(sap)
        ),
        writable=tuple(
            MemberView(item.index, item.name, item.data_type, item.size)
            for item in attributes
            if Access.WRITE in item.access_for(sap)
        ),
        methods=tuple(
            MemberView(item.index, item.name, item.data_type)
            for item in spec.methods
            if Access.EXECUTE in item.access_for(sap)
        ),
    )


def _matcher(search: str | None) -> _Match:
    if search is None:
        return lambda _view: True
    try:
        code: ObisCode | None = ObisCode.parse(search)
    except ValueError:
        code = None
    needle = search.lower()

    def matches(view: ObjectView) -> bool:
        if code is not None:
            return view.obis == code
        return needle in view.name.lower() or needle in view.group.lower() or needle in str(view.obis)

    return matches
