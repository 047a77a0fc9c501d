"""The common shape of every COSEM interface class of the simulator: attributes, stored settings and methods.

An interface class answers by attribute or method number in four plain methods, `read`, `write`, `invoke` and
`select` (selective access), returning None for what it does not model; the attributes it keeps as stored values
it declares as `SETTINGS`. What follows from the object's profile entry alone (its logical name, its settings'
starting values and write rules, each client's rights) is worked out once and shared by every meter of the brand
(`hes.simulator.cosem.shared.ObjectTable`), so an object holds only its meter state, its resolver and what clients
changed: 10,000 meters fit in one process.

Access rights are not checked here: the directory checks them against the profile before it calls an object.
Results follow IEC 62056-5-3: a value, or a Data-Access-Result / Action-Result code.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from typing import ClassVar, Protocol

from hes.obis import ObisCode
from hes.obis.profile_types import AttributeSpec, CosemObjectSpec
from hes.simulator.cosem.conversions import default_data, plain_data, to_data, zero_data
from hes.simulator.cosem.shared import ObjectTable, Setting
from hes.simulator.cosem.state import MeterState, RowValue
from hes.simulator.dlms.apdu_services import ActionResult, DataAccessResult
from hes.simulator.dlms.values import NULL, Data

__all__ = [
    "ActionOutcome",
    "CosemObject",
    "GenericObject",
    "ReadResult",
    "Resolver",
    "Setting",
    "table_of",
]

ReadResult = Data | DataAccessResult
ActionOutcome = Data | ActionResult  # Data: success with return parameters
# Shared tables kept: one per (interface class, profile entry) in use. The three brand profiles list about 1,500
# objects; the bound only matters for tests that build many one-off specs.
_MAX_TABLES = 8192


class Resolver(Protocol):
    """Finds another object of the same meter (a profile's capture objects, a push setup's push objects)."""

    def __call__(self, class_id: int, obis: ObisCode) -> CosemObject | None: ...


class CosemObject:
    """One COSEM object of a simulated meter, built from its profile spec and fed by the meter state.

    Subclasses override `read`, `write`, `invoke` and `select` and declare their stored settings in `SETTINGS`
    (or `settings_for`, when they depend on the profile entry).
    """

    SETTINGS: ClassVar[tuple[Setting, ...]] = ()

    def __init__(self, spec: CosemObjectSpec, state: MeterState, resolve: Resolver) -> None:
        self.spec = spec
        self.state = state
        self.resolve = resolve
        self.table = table_of(type(self), spec)
        self._written: dict[int, Data] | None = None  # settings a client wrote; None until the first write

    @classmethod
    def settings_for(cls, spec: CosemObjectSpec) -> tuple[Setting, ...]:
        """The attributes this class keeps as stored settings for profile entry `spec`."""
        return cls.SETTINGS

    @property
    def obis(self) -> ObisCode:
        """The logical name."""
        return self.spec.obis

    # ------------------------------------------------------------------------------------------ what clients call

    def get(
        self, attribute: int, access_selector: int | None = None, access_parameters: Data | None = None
    ) -> ReadResult:
        """Read an attribute, with selective access when a selector is given.

        Returns object-unavailable for an attribute the class does not model, and other-reason for selective
        access on an attribute that has none.
        """
        if access_selector is not None:
            parameters = access_parameters if access_parameters is not None else NULL
            selected = self.select(attribute, access_selector, parameters)
            return DataAccessResult.OTHER_REASON if selected is None else selected
        if attribute == 1:
            return self.table.logical_name
        if attribute in self.table.settings:
            return self.stored(attribute)
        value = self.read(attribute)
        return DataAccessResult.OBJECT_UNAVAILABLE if value is None else value

    def set(self, attribute: int, value: Data) -> DataAccessResult:
        """Write an attribute; read-write-denied for one that cannot be written, type-unmatched for a wrong type."""
        rule = self.table.settings.get(attribute)
        if rule is None:
            result = self.write(attribute, value)
            return DataAccessResult.READ_WRITE_DENIED if result is None else result
        refusal = rule.refuses(value)
        if refusal is not None:
            return refusal
        if self._written is None:
            self._written = {}
        self._written[attribute] = value
        self.state.attribute_written(self.obis, attribute, value)
        return DataAccessResult.SUCCESS

    def action(self, method: int, parameters: Data | None = None) -> ActionOutcome:
        """Invoke a method; object-unavailable for one the class does not model."""
        outcome = self.invoke(method, parameters)
        return ActionResult.OBJECT_UNAVAILABLE if outcome is None else outcome

    # ------------------------------------------------------------------------------------------ what classes model

    def read(self, attribute: int) -> ReadResult | None:
        """The value of a modelled attribute other than the logical name and the settings; None if not modelled."""
        return None

    def write(self, attribute: int, value: Data) -> DataAccessResult | None:
        """Write a modelled attribute that is not a setting; None if it cannot be written."""
        return None

    def invoke(self, method: int, parameters: Data | None) -> ActionOutcome | None:
        """Carry out a modelled method; None if the class does not model it."""
        return None

    def select(self, attribute: int, selector: int, parameters: Data) -> ReadResult | None:
        """Read an attribute with selective access; None when the attribute has none."""
        return None

    # ------------------------------------------------------------------------------------------ helpers

    def capture(self, attribute: int, value: RowValue) -> Data:
        """A profile row's plain value for this object's attribute, typed as the attribute is.

        Raises:
            ValueError: the value cannot have the attribute's type.
        """
        spec = self.spec.attribute(attribute)
        if spec is None:
            return plain_data(value, self.zone)
        return to_data(value, spec.data_type, spec.size, self.zone)

    @property
    def zone(self) -> tzinfo | None:
        """The meter's time zone (that of its clock)."""
        return self.state.clock().tzinfo

    def initial(self, index: int, fallback: Data) -> Data:
        """An attribute's starting value: the profile's default, else `fallback`."""
        spec = self.spec.attribute(index)
        default = default_data(spec) if spec is not None else None
        return default if default is not None else fallback

    def setting(
        self,
        index: int,
        fallback: Data,
        check: Callable[[Data], bool] | None = None,
        refusal: DataAccessResult = DataAccessResult.OTHER_REASON,
    ) -> None:
        """Make attribute `index` a stored setting of this object alone (classes declare theirs in SETTINGS).

        It reads what was last written, at first the profile's default (else `fallback`); see `Setting`.
        """
        self.table = self.table.with_setting(self.spec, Setting(index, fallback, check, refusal))
        if self._written is not None:
            self._written.pop(index, None)

    def stored(self, index: int) -> Data:
        """The current value of a stored setting.

        Raises:
            KeyError: attribute `index` is not a setting.
        """
        written = self._written
        if written is not None and index in written:
            return written[index]
        return self.table.settings[index].initial

    def attribute_type(self, index: int, fallback: str) -> AttributeSpec:
        """The profile's spec of attribute `index`, or one of type `fallback` when the profile does not list it."""
        spec = self.spec.attribute(index)
        return spec if spec is not None else AttributeSpec(index, f"attribute_{index}", fallback)


class GenericObject(CosemObject):
    """An object of an interface class the simulator does not model: its attributes are stored settings."""

    @classmethod
    def settings_for(cls, spec: CosemObjectSpec) -> tuple[Setting, ...]:
        """Every attribute but the logical name, starting from the profile's default or a zero value."""
        return tuple(
            Setting(attribute.index, zero_data(attribute.data_type, attribute.size))
            for attribute in spec.attributes
            if attribute.index != 1
        )


# (class, id(spec)) -> (spec, its table). Keyed by identity, as a spec's hash walks all its attributes, and holding
# the spec, so an id is never reused while its entry lives; equal specs of different identity get equal tables.
_tables: dict[tuple[type[CosemObject], int], tuple[CosemObjectSpec, ObjectTable]] = {}


def table_of(kind: type[CosemObject], spec: CosemObjectSpec) -> ObjectTable:
    """The table every meter's `kind` object of profile entry `spec` shares (built on first use)."""
    key = (kind, id(spec))
    entry = _tables.get(key)
    if entry is None:
        if len(_tables) >= _MAX_TABLES:
            del _tables[next(iter(_tables))]  # the oldest: tables are cheap to build again
        entry = _tables[key] = (spec, ObjectTable(spec, kind.settings_for(spec)))
    return entry[1]
