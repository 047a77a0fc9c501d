"""The types of a brand profile: objects with their attributes, methods, access rights, scaler and unit.

`hes.obis.profiles` reads them from the package data; import them from there.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import IntFlag

from hes.obis.codes import ObisCode
from hes.obis.units import unit_symbol

__all__ = [
    "Access",
    "AttributeSpec",
    "BrandProfile",
    "ClientRole",
    "CosemObjectSpec",
    "MethodSpec",
    "ObjectReference",
]


class Access(IntFlag):
    """What one client may do with an attribute (R, W, RW) or a method (X)."""

    NONE = 0
    READ = 1
    WRITE = 2
    EXECUTE = 4

    @classmethod
    def parse(cls, text: str) -> Access:
        """The right as a profile spells it: R, W, RW, X or - (none).

        Raises:
            ValueError: any other spelling.
        """
        try:
            return _ACCESS_SPELLINGS[text]
        except KeyError:
            raise ValueError(f"access {text!r} is not one of R, W, RW, X, -") from None

    def __str__(self) -> str:
        letters = (("R", Access.READ), ("W", Access.WRITE), ("X", Access.EXECUTE))
        return "".join(letter for letter, right in letters if right in self) or "-"


_ACCESS_SPELLINGS = {"-": Access.NONE, "R": Access.READ, "W": Access.WRITE, "RW": Access.READ | Access.WRITE}
_ACCESS_SPELLINGS["X"] = Access.EXECUTE


@dataclass(frozen=True, slots=True)
class ClientRole:
    """A DLMS client of the meter: its role and client SAP (public 16, management 1, ...)."""

    name: str
    sap: int


@dataclass(frozen=True, slots=True)
class ObjectReference:
    """A capture or push object: an attribute of an object (data_index > 0: one element of it)."""

    class_id: int
    obis: ObisCode
    attribute: int
    data_index: int = 0


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    """One attribute of a profile object: its type, default value and each client's access."""

    index: int
    name: str
    data_type: str
    size: int | None = None
    default: str | None = None
    access: tuple[tuple[int, Access], ...] = ()
    references: tuple[ObjectReference, ...] = ()

    def access_for(self, client_sap: int) -> Access:
        """The right of client `client_sap`; NONE for a client the profile does not list."""
        return _right_of(self.access, client_sap)


@dataclass(frozen=True, slots=True)
class MethodSpec:
    """One method of a profile object: its parameter type and each client's access."""

    index: int
    name: str
    data_type: str | None = None
    access: tuple[tuple[int, Access], ...] = ()

    def access_for(self, client_sap: int) -> Access:
        """The right of client `client_sap`; NONE for a client the profile does not list."""
        return _right_of(self.access, client_sap)


@dataclass(frozen=True, slots=True)
class CosemObjectSpec:
    """One COSEM object of a brand: logical name, interface class, attributes, methods, scaler and unit."""

    obis: ObisCode
    class_id: int
    version: int
    name: str
    group: str
    attributes: tuple[AttributeSpec, ...]
    methods: tuple[MethodSpec, ...] = ()
    scaler: int | None = None
    unit: int | None = None

    def attribute(self, index: int) -> AttributeSpec | None:
        """Attribute `index`, or None when the profile does not list it."""
        return next((spec for spec in self.attributes if spec.index == index), None)

    def method(self, index: int) -> MethodSpec | None:
        """Method `index`, or None when the profile does not list it."""
        return next((spec for spec in self.methods if spec.index == index), None)

    @property
    def capture_objects(self) -> tuple[ObjectReference, ...]:
        """A profile generic's (class 7) capture objects, from its attribute 3; empty for other classes."""
        captured = self.attribute(3) if self.class_id == 7 else None
        return captured.references if captured is not None else ()

    @property
    def unit_symbol(self) -> str | None:
        """The unit as a symbol ("Wh"), or None when the profile gives none."""
        return None if self.unit is None else unit_symbol(self.unit)


@dataclass(frozen=True)
class BrandProfile:
    """The objects of one meter brand, looked up by logical name."""

    brand: str
    clients: tuple[ClientRole, ...]
    objects: tuple[CosemObjectSpec, ...]
    extends: str | None = None
    _by_obis: dict[ObisCode, CosemObjectSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_obis", {spec.obis: spec for spec in self.objects})

    def find(self, obis: ObisCode | str | bytes) -> CosemObjectSpec | None:
        """The object with logical name `obis` (any spelling ObisCode.parse takes), or None."""
        return self._by_obis.get(ObisCode.parse(obis))

    def get(self, obis: ObisCode | str | bytes) -> CosemObjectSpec:
        """The object with logical name `obis`.

        Raises:
            KeyError: the brand has no such object.
        """
        spec = self.find(obis)
        if spec is None:
            raise KeyError(f"{self.brand} has no object {ObisCode.parse(obis)}")
        return spec

    def client(self, sap: int) -> ClientRole | None:
        """The client role with SAP `sap`, or None."""
        return next((role for role in self.clients if role.sap == sap), None)

    def __len__(self) -> int:
        return len(self.objects)

    def __iter__(self) -> Iterator[CosemObjectSpec]:
        return iter(self.objects)


def _right_of(access: tuple[tuple[int, Access], ...], client_sap: int) -> Access:
    return next((right for sap, right in access if sap == client_sap), Access.NONE)
