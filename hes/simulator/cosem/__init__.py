"""The simulator's COSEM object model (IEC 62056-6-2 interface classes), sans-IO: a meter's objects from a profile.

`MeterObjects.build(profile, state, client_sap)` is what the association layer calls: get / set / action by class
id, 6-octet OBIS code and attribute or method, answering `Data` or a data-access / action result. The values come
from a `MeterState` (the physics model; `InMemoryMeterState` for tests). A meter builds an object when a client
first uses it, and what its profile fixes is shared by every meter of the brand (`ObjectTable`), so 10,000 meters
fit in one process.
"""

from hes.simulator.cosem.association_ln import AssociationContext, AssociationLN
from hes.simulator.cosem.base import ActionOutcome, CosemObject, GenericObject, ReadResult
from hes.simulator.cosem.clock import Clock
from hes.simulator.cosem.directory import INTERFACE_CLASSES, MeterObjects
from hes.simulator.cosem.disconnect_control import ControlMode, ControlState, DisconnectControl, Trigger
from hes.simulator.cosem.image_transfer import ImageTransfer, ImageTransferStatus
from hes.simulator.cosem.profile_generic import ProfileGeneric
from hes.simulator.cosem.push_setup import PushSetup
from hes.simulator.cosem.registers import DataObject, DemandRegister, ExtendedRegister, Register
from hes.simulator.cosem.selective_access import AccessSelector
from hes.simulator.cosem.shared import ObjectTable, Setting
from hes.simulator.cosem.state import InMemoryMeterState, MeterState, PlainValue, RowValue

__all__ = [
    "INTERFACE_CLASSES",
    "AccessSelector",
    "ActionOutcome",
    "AssociationContext",
    "AssociationLN",
    "Clock",
    "ControlMode",
    "ControlState",
    "CosemObject",
    "DataObject",
    "DemandRegister",
    "DisconnectControl",
    "ExtendedRegister",
    "GenericObject",
    "ImageTransfer",
    "ImageTransferStatus",
    "InMemoryMeterState",
    "MeterObjects",
    "MeterState",
    "ObjectTable",
    "PlainValue",
    "ProfileGeneric",
    "PushSetup",
    "ReadResult",
    "Register",
    "RowValue",
    "Setting",
    "Trigger",
]
