"""The object directory of one simulated meter: its COSEM objects, built from a brand profile, as a client sees them.

`MeterObjects.build(profile, state, client_sap)` makes one object per profile entry (by interface class; classes
the simulator does not model keep their attributes as settings) and answers GET, SET and ACTION as the
association layer's ObjectModel protocol (hes.simulator.dlms.association) calls them, checking the client's
rights from the profile first:
- an OBIS code the meter does not have: object-undefined; a class id that is not the object's:
  object-class-inconsistent;
- an attribute the client may not read / write, a method it may not invoke: read-write-denied;
- a SET of the wrong type: type-unmatched (from the object).
`for_client` gives another client's view of the same objects (one relay, one clock, one image transfer); only the
current association (0-0:40.0.0.255) is each view's own.
"""

from __future__ import annotations

from collections.abc import Mapping

from hes.obis import Access, BrandProfile, CosemObjectSpec, ObisCode
from hes.simulator.cosem.association_ln import (
    CURRENT_ASSOCIATION,
    AssociationContext,
    AssociationLN,
    default_association_spec,
)
from hes.simulator.cosem.base import CosemObject, GenericObject, ReadResult
from hes.simulator.cosem.clock import Clock
from hes.simulator.cosem.disconnect_control import DisconnectControl
from hes.simulator.cosem.image_transfer import ImageTransfer
from hes.simulator.cosem.profile_generic import ProfileGeneric
from hes.simulator.cosem.push_setup import PushSetup
from hes.simulator.cosem.registers import DataObject, DemandRegister, ExtendedRegister, Register
from hes.simulator.cosem.state import MeterState
from hes.simulator.dlms.apdu_services import AccessSelection, ActionResult, DataAccessResult
from hes.simulator.dlms.values import Data

__all__ = ["INTERFACE_CLASSES", "MeterObjects"]

# Interface class id -> the class that models it; others become a GenericObject.
INTERFACE_CLASSES: Mapping[int, type[CosemObject]] = {
    1: DataObject,
    3: Register,
    4: ExtendedRegister,
    5: DemandRegister,
    7: ProfileGeneric,
    8: Clock,
    18: ImageTransfer,
    40: PushSetup,
    70: DisconnectControl,
}
_LOGICAL_NAME_SIZE = 6  # octets of an OBIS code on the wire
ASSOCIATION_LN = 15  # interface class of the current association


class _Meter:
    """The objects of one meter, shared by every client's view."""

    def __init__(self, profile: BrandProfile, state: MeterState) -> None:
        self.profile = profile
        self.state = state
        self.objects: dict[ObisCode, CosemObject] = {}
        for spec in profile:
            if spec.obis != CURRENT_ASSOCIATION:
                self.objects[spec.obis] = INTERFACE_CLASSES.get(spec.class_id, GenericObject)(spec, state, self.resolve)

    def resolve(self, class_id: int, obis: ObisCode) -> CosemObject | None:
        found = self.objects.get(obis)
        return found if found is not None and found.spec.class_id == class_id else None


class MeterObjects:
    """The objects of one simulated meter as one client association sees them: GET, SET and ACTION."""

    def __init__(self, meter: _Meter, client_sap: int, context: AssociationContext | None = None) -> None:
        if meter.profile.client(client_sap) is None:
            known = ", ".join(f"{role.name} {role.sap}" for role in meter.profile.clients)
            raise ValueError(f"the {meter.profile.brand} profile has no client SAP {client_sap} (it has {known})")
        self._meter = meter
        self.client_sap = client_sap
        self.context = context if context is not None else AssociationContext(client_sap)
        spec = meter.profile.find(CURRENT_ASSOCIATION)
        if spec is None or spec.class_id != ASSOCIATION_LN:
            spec = default_association_spec(client_sap)
        self.association = AssociationLN(
            spec, meter.state, meter.resolve, context=self.context, visible=self.visible_objects
        )

    @classmethod
    def build(
        cls, profile: BrandProfile, state: MeterState, client_sap: int, context: AssociationContext | None = None
    ) -> MeterObjects:
        """The objects of a new meter of `profile`, fed by `state`, as client `client_sap` sees them.

        Raises:
            ValueError: the profile has no such client.
        """
        return cls(_Meter(profile, state), client_sap, context)

    def for_client(self, client_sap: int, context: AssociationContext | None = None) -> MeterObjects:
        """Another client's view of the same meter (its own current association, the same objects).

        Raises:
            ValueError: the profile has no such client.
        """
        return MeterObjects(self._meter, client_sap, context)

    @property
    def profile(self) -> BrandProfile:
        """The meter's brand profile."""
        return self._meter.profile

    def object(self, obis: ObisCode | str) -> CosemObject | None:
        """The object with logical name `obis` (for the simulator's own use: no access check)."""
        code = ObisCode.parse(obis)
        return self.association if code == CURRENT_ASSOCIATION else self._meter.objects.get(code)

    def visible_objects(self) -> list[CosemObjectSpec]:
        """The objects this client has any right to, in profile order (the current association's object_list)."""
        specs = [target.spec for target in self._meter.objects.values()]
        if self.profile.find(CURRENT_ASSOCIATION) is None:
            specs.insert(0, self.association.spec)
        else:
            specs = [self.association.spec if spec.obis == CURRENT_ASSOCIATION else spec for spec in self.profile]
        return [spec for spec in specs if self._any_right(spec)]

    def get(self, class_id: int, obis: bytes, attribute: int, access: AccessSelection | None = None) -> ReadResult:
        """GET one attribute (with selective access when `access` is given): its value or a data-access-result."""
        target = self._lookup(class_id, obis)
        if not isinstance(target, CosemObject):
            return DataAccessResult(target)
        if Access.READ not in self._attribute_right(target, attribute):
            return DataAccessResult.READ_WRITE_DENIED
        if access is None:
            return target.get(attribute)
        return target.get(attribute, access.selector, access.parameters)

    def set(
        self, class_id: int, obis: bytes, attribute: int, access: AccessSelection | None, value: Data
    ) -> DataAccessResult:
        """SET one attribute: a data-access-result (selective access on a write is not supported: other-reason)."""
        target = self._lookup(class_id, obis)
        if not isinstance(target, CosemObject):
            return DataAccessResult(target)
        if Access.WRITE not in self._attribute_right(target, attribute):
            return DataAccessResult.READ_WRITE_DENIED
        if access is not None:
            return DataAccessResult.OTHER_REASON
        return target.set(attribute, value)

    def action(
        self, class_id: int, obis: bytes, method: int, parameters: Data | None = None
    ) -> Data | ActionResult | None:
        """ACTION on one method: return parameters, None for success without any, or the failing action-result."""
        target = self._lookup(class_id, obis)
        if not isinstance(target, CosemObject):
            return ActionResult(target)
        spec = target.spec.method(method)
        if spec is None or Access.EXECUTE not in spec.access_for(self.client_sap):
            return ActionResult.READ_WRITE_DENIED
        outcome = target.action(method, parameters)
        return None if outcome is ActionResult.SUCCESS else outcome

    def _lookup(self, class_id: int, obis: bytes) -> CosemObject | int:
        """The object, or the result code for why there is none (the same number as data-access- and action-result)."""
        if len(obis) != _LOGICAL_NAME_SIZE:
            return DataAccessResult.OBJECT_UNDEFINED
        target = self.object(ObisCode.parse(bytes(obis)))
        if target is None:
            return DataAccessResult.OBJECT_UNDEFINED
        if target.spec.class_id != class_id:
            return DataAccessResult.OBJECT_CLASS_INCONSISTENT
        return target

    def _attribute_right(self, target: CosemObject, attribute: int) -> Access:
        spec = target.spec.attribute(attribute)
        return Access.NONE if spec is None else spec.access_for(self.client_sap)

    def _any_right(self, spec: CosemObjectSpec) -> bool:
        rights = [attribute.access_for(self.client_sap) for attribute in spec.attributes]
        rights += [method.access_for(self.client_sap) for method in spec.methods]
        return any(right is not Access.NONE for right in rights)
