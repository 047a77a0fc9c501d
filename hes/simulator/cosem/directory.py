"""The object directory of one simulated meter: its COSEM objects, built from a brand profile, as a client sees them.

`MeterObjects.build(profile, state, client_sap)` makes one object per profile entry (by interface class; classes
the simulator does not model keep their attributes as settings), plus the invocation counter 0-0:43.1.0.255 when
the profile does not list it (hes.simulator.cosem.invocation_counter), and answers GET, SET and ACTION as the
association layer's ObjectModel protocol (hes.simulator.dlms.association) calls them, checking the client's
rights from the profile first:
- an OBIS code the meter does not have: object-undefined; a class id that is not the object's:
  object-class-inconsistent;
- an attribute the client may not read / write, a method it may not invoke: read-write-denied;
- a SET of the wrong type: type-unmatched (from the object).
`for_client` gives another client's view of the same objects (one relay, one clock, one image transfer); only the
current association (0-0:40.0.0.255) is each view's own.

Scale: a meter builds an object when a client first uses it, and everything that follows from the profile alone
(specs by logical name, each client's object list, and per object the shared `ObjectTable`) is kept once per
brand, so a fleet of 10,000 meters that answered a few registers each holds a few kilobytes per meter.
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
from hes.simulator.cosem.base import CosemObject, GenericObject, ReadResult, Resolver
from hes.simulator.cosem.clock import Clock
from hes.simulator.cosem.disconnect_control import DisconnectControl
from hes.simulator.cosem.image_transfer import ImageTransfer
from hes.simulator.cosem.invocation_counter import INVOCATION_COUNTER, InvocationCounterData, invocation_counter_spec
from hes.simulator.cosem.profile_generic import ProfileGeneric
from hes.simulator.cosem.push_setup import PushSetup
from hes.simulator.cosem.registers import DataObject, DemandRegister, ExtendedRegister, Register
from hes.simulator.cosem.state import MeterState
from hes.simulator.dlms.apdu_services import AccessSelection, ActionResult, DataAccessResult
from hes.simulator.dlms.association_config import SecurityState
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
_CURRENT_ASSOCIATION_NAME = CURRENT_ASSOCIATION.to_bytes()
_INVOCATION_COUNTER_NAME = INVOCATION_COUNTER.to_bytes()
_DATA_CLASS = 1
# Brand profiles whose shared part is kept: the three brands, plus room for profiles tests build.
_MAX_BRANDS = 64


class _Brand:
    """What every meter of one brand profile shares: its objects' specs by logical name, each client's object list."""

    def __init__(self, profile: BrandProfile) -> None:
        self.profile = profile
        self.specs = {spec.obis.to_bytes(): spec for spec in profile if spec.obis != CURRENT_ASSOCIATION}
        # The simulator's own objects, for profiles that do not list them: every meter has its invocation counter.
        self.own = tuple(
            spec for spec in (invocation_counter_spec(profile.clients),) if spec.obis.to_bytes() not in self.specs
        )
        self.specs.update((spec.obis.to_bytes(), spec) for spec in self.own)
        listed = profile.find(CURRENT_ASSOCIATION)
        self._lists_association = listed is not None
        self._association = listed if listed is not None and listed.class_id == ASSOCIATION_LN else None
        self._visible: dict[int, tuple[CosemObjectSpec, ...]] = {}
        # Each client's object list (Association LN attribute 2), encoded: it follows from the profile alone.
        self.object_lists: dict[int, Data] = {}

    def association_spec(self, client_sap: int) -> CosemObjectSpec:
        """The current association's spec: the profile's, or the default one every logical device has."""
        return self._association if self._association is not None else default_association_spec(client_sap)

    def visible(self, client_sap: int) -> tuple[CosemObjectSpec, ...]:
        """The objects client `client_sap` has any right to, in profile order (its current association's list)."""
        found = self._visible.get(client_sap)
        if found is None:
            association = self.association_spec(client_sap)
            if self._lists_association:
                specs = [association if spec.obis == CURRENT_ASSOCIATION else spec for spec in self.profile]
                specs += self.own
            else:
                specs = [association, *self.specs.values()]
            found = self._visible[client_sap] = tuple(spec for spec in specs if _any_right(spec, client_sap))
        return found


def _any_right(spec: CosemObjectSpec, client_sap: int) -> bool:
    rights = [attribute.access_for(client_sap) for attribute in spec.attributes]
    rights += [method.access_for(client_sap) for method in spec.methods]
    return any(right is not Access.NONE for right in rights)


# id(profile) -> its shared part. Keyed by identity (a profile's hash walks every object) and holding the profile,
# so an id is never reused while its entry lives.
_brands: dict[int, _Brand] = {}


def _brand_of(profile: BrandProfile) -> _Brand:
    brand = _brands.get(id(profile))
    if brand is None:
        if len(_brands) >= _MAX_BRANDS:
            del _brands[next(iter(_brands))]  # the oldest
        brand = _brands[id(profile)] = _Brand(profile)
    return brand


class _Meter:
    """The objects of one meter, shared by every client's view; each is built when a client first uses it."""

    def __init__(self, profile: BrandProfile, state: MeterState, security: SecurityState | None) -> None:
        self.brand = _brand_of(profile)
        self.state = state
        self.security = security  # the invocation counters its associations share, for 0-0:43.1.0.255
        self.objects: dict[bytes, CosemObject] = {}  # logical name octets -> object, for those used so far
        self.resolver: Resolver = self.resolve  # one bound method for all the meter's objects

    @property
    def profile(self) -> BrandProfile:
        """The meter's brand profile."""
        return self.brand.profile

    def at(self, name: bytes) -> CosemObject | None:
        """The object with logical name `name` (6 octets), built on first use; None if the meter has none."""
        found = self.objects.get(name)
        if found is None:
            spec = self.brand.specs.get(name)
            if spec is None:
                return None
            if name == _INVOCATION_COUNTER_NAME and spec.class_id == _DATA_CLASS:
                found = InvocationCounterData(spec, self.state, self.resolver, self.security)
            else:
                found = INTERFACE_CLASSES.get(spec.class_id, GenericObject)(spec, self.state, self.resolver)
            self.objects[name] = found
        return found

    def resolve(self, class_id: int, obis: ObisCode) -> CosemObject | None:
        """The object `obis` when it is of interface class `class_id` (a capture or push object), else None."""
        found = self.at(obis.to_bytes())
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
        self.association = AssociationLN(
            meter.brand.association_spec(client_sap),
            meter.state,
            meter.resolver,
            context=self.context,
            visible=self.visible_objects,
            object_lists=meter.brand.object_lists,
        )

    @classmethod
    def build(
        cls,
        profile: BrandProfile,
        state: MeterState,
        client_sap: int,
        context: AssociationContext | None = None,
        *,
        security: SecurityState | None = None,
    ) -> MeterObjects:
        """The objects of a new meter of `profile`, fed by `state`, as client `client_sap` sees them.

        Objects are built when a client first uses them, and what follows from the profile alone is shared by
        every meter of the brand, so a meter that answers a few registers costs a few kilobytes. `security` is
        the meter's invocation counters, which its invocation counter object (0-0:43.1.0.255) shows; without it
        that object reads 0 (any counter is accepted).

        Raises:
            ValueError: the profile has no such client.
        """
        return cls(_Meter(profile, state, security), client_sap, context)

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
        return self._object_at(ObisCode.parse(obis).to_bytes())

    def visible_objects(self) -> list[CosemObjectSpec]:
        """The objects this client has any right to, in profile order (the current association's object_list)."""
        return list(self._meter.brand.visible(self.client_sap))

    def get(self, class_id: int, obis: bytes, attribute: int, access: AccessSelection | None = None) -> ReadResult:
        """GET one attribute (with selective access when `access` is given): its value or a data-access-result."""
        target = self._lookup(class_id, obis)
        if not isinstance(target, CosemObject):
            return DataAccessResult(target)
        if Access.READ not in target.table.attribute_right(attribute, self.client_sap):
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
        if Access.WRITE not in target.table.attribute_right(attribute, self.client_sap):
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
        if Access.EXECUTE not in target.table.method_right(method, self.client_sap):
            return ActionResult.READ_WRITE_DENIED
        outcome = target.action(method, parameters)
        return None if outcome is ActionResult.SUCCESS else outcome

    def _object_at(self, name: bytes) -> CosemObject | None:
        return self.association if name == _CURRENT_ASSOCIATION_NAME else self._meter.at(name)

    def _lookup(self, class_id: int, obis: bytes) -> CosemObject | int:
        """The object, or the result code for why there is none (the same number as data-access- and action-result)."""
        if len(obis) != _LOGICAL_NAME_SIZE:
            return DataAccessResult.OBJECT_UNDEFINED
        target = self._object_at(bytes(obis))
        if target is None:
            return DataAccessResult.OBJECT_UNDEFINED
        if target.spec.class_id != class_id:
            return DataAccessResult.OBJECT_CLASS_INCONSISTENT
        return target
