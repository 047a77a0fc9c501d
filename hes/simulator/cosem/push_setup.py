"""Push setup (class 40, Blue Book 4.4.8): what a meter pushes (push_object_list) and where to.

push_object_list starts from the profile's default references; the destination, communication windows and
retries are settings a client writes. The push method is accepted and told to the meter state; the transport
driver sends `push_values()` (the DataNotification body: a structure of each push object's value) to
`destination`.
"""

from __future__ import annotations

from enum import IntEnum

from hes.obis import ObisCode
from hes.obis.profile_types import CosemObjectSpec
from hes.simulator.cosem.base import ActionOutcome, CosemObject
from hes.simulator.cosem.conversions import capture_definition
from hes.simulator.cosem.shared import Setting
from hes.simulator.dlms.apdu_services import ActionResult, DataAccessResult
from hes.simulator.dlms.values import NULL, Data, DataType, array, enum, long_unsigned, octets, structure, unsigned

__all__ = ["MessageType", "PushSetup", "TransportService"]


class TransportService(IntEnum):
    """transport_service of send_destination_and_method (the ones a simulated meter uses)."""

    TCP = 0
    UDP = 1


class MessageType(IntEnum):
    """message of send_destination_and_method."""

    A_XDR = 0  # a COSEM APDU, A-XDR encoded
    XML = 1


class PushSetup(CosemObject):
    """Push setup (class 40): the push object list and destination of one push."""

    @classmethod
    def settings_for(cls, spec: CosemObjectSpec) -> tuple[Setting, ...]:
        """push_object_list (from the profile's default references), destination, windows and retries."""
        listed = spec.attribute(2)
        references = listed.references if listed is not None else ()
        objects = (
            capture_definition(ref.class_id, ref.obis.to_bytes(), ref.attribute, ref.data_index) for ref in references
        )
        destination = structure(enum(TransportService.TCP), octets(b""), enum(MessageType.A_XDR))
        return (
            Setting(2, array(*objects), check=_is_object_list, refusal=DataAccessResult.TYPE_UNMATCHED),
            Setting(3, destination, check=_is_destination, refusal=DataAccessResult.TYPE_UNMATCHED),
            Setting(4, array()),  # communication_window
            Setting(5, long_unsigned(0)),  # randomisation_start_interval
            Setting(6, unsigned(0)),  # number_of_retries
            Setting(7, long_unsigned(0)),  # repetition_delay
        )

    def invoke(self, method: int, parameters: Data | None) -> ActionOutcome | None:
        """push (1)."""
        return self._push(parameters) if method == 1 else None

    @property
    def destination(self) -> bytes:
        """Where pushes go ("host:port" for TCP), as the destination octets say; empty when not set."""
        value = self.stored(3).items[1].value
        return value if isinstance(value, bytes) else b""

    def push_values(self) -> Data:
        """The values to push: a structure with each push object's attribute (null-data where one is missing)."""
        values = []
        for element in self.stored(2).items:
            class_id, logical_name, attribute, data_index = (item.value for item in element.items)
            target = None
            if isinstance(class_id, int) and isinstance(logical_name, bytes) and isinstance(attribute, int):
                target = self.resolve(class_id, ObisCode.parse(logical_name))
            value = target.get(attribute) if target is not None and isinstance(attribute, int) else NULL
            if isinstance(value, Data) and isinstance(data_index, int) and data_index > 0:
                value = value.items[data_index - 1] if _has_element(value, data_index) else NULL
            values.append(value if isinstance(value, Data) else NULL)
        return structure(*values)

    def _push(self, parameters: Data | None) -> ActionOutcome:
        self.state.method_invoked(self.obis, 1, parameters)
        return ActionResult.SUCCESS


def _has_element(value: Data, data_index: int) -> bool:
    return value.type in (DataType.ARRAY, DataType.STRUCTURE) and data_index <= len(value.items)


def _shaped(value: Data, kinds: tuple[DataType, ...]) -> bool:
    """Whether `value` is a structure whose members have the types `kinds`."""
    if value.type is not DataType.STRUCTURE or len(value.items) != len(kinds):
        return False
    return all(item.type is kind for item, kind in zip(value.items, kinds, strict=True))


def _is_object_list(value: Data) -> bool:
    # push_object_list: an array of capture_object_definition (class id, 6-octet logical name, attribute, index)
    kinds = (DataType.LONG_UNSIGNED, DataType.OCTET_STRING, DataType.INTEGER, DataType.LONG_UNSIGNED)
    if value.type is not DataType.ARRAY:
        return False
    return all(_shaped(element, kinds) and _octet_count(element.items[1]) == 6 for element in value.items)


def _octet_count(value: Data) -> int:
    return len(value.value) if isinstance(value.value, bytes) else -1


def _is_destination(value: Data) -> bool:
    # send_destination_and_method: structure { transport_service enum, destination octet-string, message enum }
    return _shaped(value, (DataType.ENUM, DataType.OCTET_STRING, DataType.ENUM))
