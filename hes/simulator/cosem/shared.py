"""What every meter of a brand shares for one COSEM object: worked out once per profile entry, never changed.

A fleet runs 10,000 meters of a few brands in one process, and a brand profile lists hundreds of objects. So the
parts of an object that follow from its profile entry and interface class alone live in one `ObjectTable` per
(interface class, profile entry), shared by all meters: the encoded logical name, each stored setting's starting
value and write rules, and each client's rights. A meter's object keeps only what is its own (its meter state, and
what clients changed). Tables are immutable; an object that gets a setting of its own gets a table of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from hes.obis import Access
from hes.obis.profile_types import AttributeSpec, CosemObjectSpec
from hes.simulator.cosem.conversions import default_data, fits
from hes.simulator.dlms.apdu_services import DataAccessResult
from hes.simulator.dlms.values import Data, octets

__all__ = ["ObjectTable", "Setting", "SettingRule"]


@dataclass(frozen=True, slots=True)
class Setting:
    """An attribute an interface class keeps as a stored value, as the class declares it.

    It reads what was last written, at first the profile's default (else `fallback`). A write must have the
    profile's type (or the fallback's, when the profile does not list the attribute), else it is type-unmatched,
    and pass `check`, else it is `refusal`.
    """

    index: int
    fallback: Data
    check: Callable[[Data], bool] | None = None
    refusal: DataAccessResult = DataAccessResult.OTHER_REASON


@dataclass(frozen=True, slots=True)
class SettingRule:
    """A setting of one profile entry: its starting value and what a write must satisfy."""

    initial: Data
    attribute: AttributeSpec | None  # the profile's spec of the attribute, when it lists it
    check: Callable[[Data], bool] | None
    refusal: DataAccessResult

    def refuses(self, value: Data) -> DataAccessResult | None:
        """Why a write of `value` is refused (type-unmatched, or the setting's refusal), or None to accept it."""
        typed = fits(value, self.attribute) if self.attribute is not None else value.type == self.initial.type
        if not typed:
            return DataAccessResult.TYPE_UNMATCHED
        if self.check is not None and not self.check(value):
            return self.refusal
        return None


def _rights(entries: Iterable[tuple[int, tuple[tuple[int, Access], ...]]]) -> dict[tuple[int, int], Access]:
    """(attribute or method index, client SAP) -> right, from the profile's access lists.

    Built backwards so that the first entry wins, as spec.attribute(index).access_for(client) finds it.
    """
    return {(index, sap): right for index, access in reversed(list(entries)) for sap, right in reversed(access)}


class ObjectTable:
    """The shared, read-only part of one profile entry's object: logical name, settings and client rights."""

    __slots__ = ("_attribute_rights", "_method_rights", "logical_name", "settings")

    def __init__(self, spec: CosemObjectSpec, settings: Iterable[Setting]) -> None:
        """The table of `spec` with the stored `settings` its interface class declares."""
        self.logical_name = octets(spec.obis.to_bytes())  # attribute 1 of every interface class
        rules: dict[int, SettingRule] = {}
        for setting in settings:
            attribute = spec.attribute(setting.index)
            default = default_data(attribute) if attribute is not None else None
            initial = default if default is not None else setting.fallback
            rules[setting.index] = SettingRule(initial, attribute, setting.check, setting.refusal)
        self.settings: Mapping[int, SettingRule] = rules
        self._attribute_rights = _rights((attribute.index, attribute.access) for attribute in spec.attributes)
        self._method_rights = _rights((method.index, method.access) for method in spec.methods)

    def with_setting(self, spec: CosemObjectSpec, setting: Setting) -> ObjectTable:
        """A copy of this table with one more (or a replaced) setting, for an object that declares its own."""
        copy = ObjectTable.__new__(ObjectTable)
        copy.logical_name = self.logical_name
        copy._attribute_rights, copy._method_rights = self._attribute_rights, self._method_rights
        extra = ObjectTable(spec, [setting]).settings
        copy.settings = {**self.settings, **extra}
        return copy

    def attribute_right(self, attribute: int, client_sap: int) -> Access:
        """What client `client_sap` may do with `attribute`: NONE when the profile lists neither."""
        return self._attribute_rights.get((attribute, client_sap), Access.NONE)

    def method_right(self, method: int, client_sap: int) -> Access:
        """Whether client `client_sap` may invoke `method`: NONE when the profile lists neither."""
        return self._method_rights.get((method, client_sap), Access.NONE)
