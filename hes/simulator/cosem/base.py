"""The common shape of every COSEM interface class of the simulator: attribute readers, writers and methods.

Each interface class fills three tables in its constructor: `readers` (attribute -> value), `writers`
(attribute -> SET) and `invokers` (method -> ACTION), plus `selective` for attributes read with selective
access. Access rights are not checked here: the directory checks them against the profile before it calls an
object. Results follow IEC 62056-5-3: a value, or a Data-Access-Result / Action-Result code.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from typing import Protocol

from hes.obis import ObisCode
from hes.obis.profile_types import AttributeSpec, CosemObjectSpec
from hes.simulator.cosem.conversions import default_data, fits, plain_data, to_data, zero_data
from hes.simulator.cosem.state import MeterState, RowValue
from hes.simulator.dlms.apdu_services import ActionResult, DataAccessResult
from hes.simulator.dlms.values import NULL, Data, octets

__all__ = [
    "ActionOutcome",
    "CosemObject",
    "GenericObject",
    "Invoker",
    "ReadResult",
    "Reader",
    "Resolver",
    "SelectiveReader",
    "Writer",
]

ReadResult = Data | DataAccessResult
ActionOutcome = Data | ActionResult  # Data: success with return parameters
Reader = Callable[[], ReadResult]
Writer = Callable[[Data], DataAccessResult]
Invoker = Callable[[Data | None], ActionOutcome]
SelectiveReader = Callable[[int, Data], ReadResult]


class Resolver(Protocol):
    """Finds another object of the same meter (a profile's capture objects, a push setup's push objects)."""

    def __call__(self, class_id: int, obis: ObisCode) -> CosemObject | None: ...


class CosemObject:
    """One COSEM object of a simulated meter, built from its profile spec and fed by the meter state."""

    def __init__(self, spec: CosemObjectSpec, state: MeterState, resolve: Resolver) -> None:
        self.spec = spec
        self.state = state
        self.resolve = resolve
        self.readers: dict[int, Reader] = {1: lambda: octets(spec.obis.to_bytes())}
        self.writers: dict[int, Writer] = {}
        self.invokers: dict[int, Invoker] = {}
        self.selective: dict[int, SelectiveReader] = {}
        self._settings: dict[int, Data] = {}

    @property
    def obis(self) -> ObisCode:
        """The logical name."""
        return self.spec.obis

    def get(
        self, attribute: int, access_selector: int | None = None, access_parameters: Data | None = None
    ) -> ReadResult:
        """Read an attribute, with selective access when a selector is given.

        Returns object-unavailable for an attribute the class does not model, and other-reason for selective
        access on an attribute that has none.
        """
        if access_selector is not None:
            selective = self.selective.get(attribute)
            if selective is None:
                return DataAccessResult.OTHER_REASON
            return selective(access_selector, access_parameters if access_parameters is not None else NULL)
        reader = self.readers.get(attribute)
        return DataAccessResult.OBJECT_UNAVAILABLE if reader is None else reader()

    def set(self, attribute: int, value: Data) -> DataAccessResult:
        """Write an attribute; read-write-denied for one that cannot be written, type-unmatched for a wrong type."""
        writer = self.writers.get(attribute)
        return DataAccessResult.READ_WRITE_DENIED if writer is None else writer(value)

    def action(self, method: int, parameters: Data | None = None) -> ActionOutcome:
        """Invoke a method; object-unavailable for one the class does not model."""
        invoker = self.invokers.get(method)
        return ActionResult.OBJECT_UNAVAILABLE if invoker is None else invoker(parameters)

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
        """Make attribute `index` a stored setting: it reads what was last written (at first its default).

        A write must have the profile's type (or the fallback's, when the profile does not list it), else it is
        type-unmatched, and pass `check`, else it is `refusal`; an accepted write is told to the meter state.
        """
        self._settings[index] = self.initial(index, fallback)

        def write(value: Data) -> DataAccessResult:
            spec = self.spec.attribute(index)
            if not (fits(value, spec) if spec is not None else value.type == self._settings[index].type):
                return DataAccessResult.TYPE_UNMATCHED
            if check is not None and not check(value):
                return refusal
            self._settings[index] = value
            self.state.attribute_written(self.obis, index, value)
            return DataAccessResult.SUCCESS

        self.readers[index] = lambda: self._settings[index]
        self.writers[index] = write

    def stored(self, index: int) -> Data:
        """The current value of a stored setting."""
        return self._settings[index]

    def attribute_type(self, index: int, fallback: str) -> AttributeSpec:
        """The profile's spec of attribute `index`, or one of type `fallback` when the profile does not list it."""
        spec = self.spec.attribute(index)
        return spec if spec is not None else AttributeSpec(index, f"attribute_{index}", fallback)


class GenericObject(CosemObject):
    """An object of an interface class the simulator does not model: its attributes are stored settings."""

    def __init__(self, spec: CosemObjectSpec, state: MeterState, resolve: Resolver) -> None:
        super().__init__(spec, state, resolve)
        for attribute in spec.attributes:
            if attribute.index != 1:
                self.setting(attribute.index, zero_data(attribute.data_type, attribute.size))
