"""What a simulated meter pushes, sans-IO: DataNotification APDUs in wrapper frames, and the alarms that trigger one.

Three pushes, each one DataNotification (IEC 62056-5-3, hes.simulator.dlms.notification) stamped with the meter's
clock, sent from the meter's logical device to the IDIS pre-established client 102 that receives pushes (OSGP's
MX382 alarm example is addressed 0x67 -> 0x66 the same way): a wrapper meter sends one IEC 62056-47 wrapper frame,
wPort 1 -> wPort 102; an HDLC meter sends HDLC UI frames (IEC 62056-46: unnumbered information, P/F set, as
gurux-dlms frames a DataNotification), from its own HDLC address to client address 102, the LLC header in front
of the APDU, segmented (segmentation bit) past the default 128-octet information field: no SNRM precedes a push,
so nothing larger was agreed.

- the push of push setup 0-0:25.9.0.255 (`push()`): the values of its push_object_list, read from the meter's
  objects; IDIS lists the push setup's logical name, the COSEM logical device name 0-0:42.0.0.255 (FLAG id +
  serial number), the clock and the active energy import 1-0:1.8.0.255. A brand without that object pushes that
  same default list. It is sent on schedule (push mode) and, as IDIS "push on connectivity" (the EnergyICT
  T210-D parser reads 0-0:25.9.0.255 as such), as the announcement of a dial-in connection;
- the alarm push of push setup 0-4:25.9.0.255 (`alarm(bits)`, the alarm push setup of IDIS / the T210-D parser):
  structure { octet-string its logical name, octet-string logical device name, octet-string clock, double-long-
  unsigned alarm register 1 }, with DSMR 5 alarm register 1 bits (as GXF/OSGP's alarm decoder maps them).

A meter whose HES association is ciphered (HLS-GMAC, security suite 0) pushes general-glo-ciphering APDUs
(authenticated and encrypted, with its system title and next invocation counter), as DSMR 5 meters do.

`AlarmWatch` notices what should raise an alarm by reading the meter's own objects: the relay (disconnect control
0-0:96.3.10.255 output_state) changing, and the tamper / status word 0-0:96.5.0.255 gaining a flag.
"""

from __future__ import annotations

from enum import IntFlag

from hes.obis import ObisCode
from hes.simulator.dlms.apdu_services import DataAccessResult
from hes.simulator.dlms.association import ObjectModel
from hes.simulator.dlms.hdlc_frame import (
    DEFAULT_INFO_FIELD,
    LLC_RESPONSE,
    FrameKind,
    HdlcAddress,
    HdlcFrame,
    encode_frame,
    u_control,
)
from hes.simulator.dlms.notification import MAX_LONG_INVOKE_ID, DataNotification, encode_data_notification
from hes.simulator.dlms.security import Protection, Wrapping, cipher_apdu
from hes.simulator.dlms.values import NULL, BitString, Data, DataType, double_long_unsigned, octets, structure
from hes.simulator.dlms.wrapper import WrapperFramer
from hes.simulator.fleet import MeterSpec, Transport
from hes.simulator.meter import SimulatedMeter

__all__ = [
    "ALARM_PUSH_SETUP",
    "DEFAULT_PUSH_OBJECTS",
    "PUSH_CLIENT_WPORT",
    "PUSH_SETUP",
    "AlarmBit",
    "AlarmWatch",
    "PushMessages",
]

PUSH_SETUP = ObisCode(0, 0, 25, 9, 0, 255)
ALARM_PUSH_SETUP = ObisCode(0, 4, 25, 9, 0, 255)
LOGICAL_DEVICE_NAME = ObisCode(0, 0, 42, 0, 0, 255)
CLOCK = ObisCode(0, 0, 1, 0, 0, 255)
ENERGY_IMPORT = ObisCode(1, 0, 1, 8, 0, 255)
DISCONNECT_CONTROL = ObisCode(0, 0, 96, 3, 10, 255)
STATUS_WORD = ObisCode(0, 0, 96, 5, 0, 255)
PUSH_CLIENT_WPORT = 102  # IDIS pre-established client: the receiver of pushes
_PUSH_SETUP_CLASS, _DATA_CLASS, _CLOCK_CLASS, _REGISTER_CLASS, _DISCONNECT_CLASS = 40, 1, 8, 3, 70
_PUSH_OBJECT_LIST, _VALUE, _OUTPUT_STATE = 2, 2, 2

# IDIS's push object list of 0-0:25.9.0.255 (class id, logical name, attribute), pushed by brands without one.
DEFAULT_PUSH_OBJECTS: tuple[tuple[int, ObisCode, int], ...] = (
    (_PUSH_SETUP_CLASS, PUSH_SETUP, 1),
    (_DATA_CLASS, LOGICAL_DEVICE_NAME, _VALUE),
    (_CLOCK_CLASS, CLOCK, _VALUE),
    (_REGISTER_CLASS, ENERGY_IMPORT, _VALUE),
)


class AlarmBit(IntFlag):
    """Alarm register 1 bits (DSMR 5, as GXF/OSGP maps them); a relay change uses bit 3 (auxiliary event).

    DSMR has no relay alarm; bit 3 flags an event in another log (the disconnector control log here).
    """

    CLOCK_INVALID = 1 << 0
    REPLACE_BATTERY = 1 << 1
    POWER_UP = 1 << 2
    AUXILIARY_EVENT = 1 << 3
    CONFIGURATION_CHANGED = 1 << 4
    FRAUD_ATTEMPT = 1 << 13


class PushMessages:
    """The framed pushes of one meter (see the module docstring); keeps the long invoke id running."""

    def __init__(self, meter: SimulatedMeter, spec: MeterSpec) -> None:
        self.meter = meter
        self.objects: ObjectModel = meter.objects(spec.client_sap)
        # The meter always knows its own name, even when its object model has no logical device name object.
        self._device_name = spec.brand_info.flag_id + spec.meter_number.encode()
        config = meter.clients[spec.client_sap]
        self._keys = config.keys if config.security_policy & Protection.ENCRYPTED else None
        self._framer = WrapperFramer()
        self._hdlc = spec.transport is Transport.HDLC
        self._invoke_id = 0

    def push(self) -> bytes:
        """The push of 0-0:25.9.0.255 (schedule, connectivity announcement, keep-alive)."""
        return self._frame(self.push_values())

    def alarm(self, bits: AlarmBit) -> bytes:
        """The alarm push of 0-4:25.9.0.255 carrying alarm register 1 = `bits`."""
        body = structure(
            octets(ALARM_PUSH_SETUP.to_bytes()),
            self._read(_DATA_CLASS, LOGICAL_DEVICE_NAME, _VALUE),
            self._read(_CLOCK_CLASS, CLOCK, _VALUE),
            double_long_unsigned(int(bits)),
        )
        return self._frame(body)

    def push_values(self) -> Data:
        """The body of the 0-0:25.9.0.255 push: one value per push object (null-data where one cannot be read)."""
        return structure(*(self._read(*reference) for reference in self._push_objects()))

    def _push_objects(self) -> list[tuple[int, ObisCode, int, int]]:
        listed = self.objects.get(_PUSH_SETUP_CLASS, PUSH_SETUP.to_bytes(), _PUSH_OBJECT_LIST, None)
        if not isinstance(listed, Data) or listed.type is not DataType.ARRAY:
            return [(*reference, 0) for reference in DEFAULT_PUSH_OBJECTS]
        objects = []
        for element in listed.items:
            class_id, name, attribute, index = (item.value for item in element.items)
            if isinstance(class_id, int) and isinstance(name, bytes) and isinstance(attribute, int):
                objects.append((class_id, ObisCode.parse(name), attribute, index if isinstance(index, int) else 0))
        return objects

    def _read(self, class_id: int, obis: ObisCode, attribute: int, index: int = 0) -> Data:
        """One push object's value as the meter reads it for itself."""
        if class_id == _PUSH_SETUP_CLASS and attribute == 1:
            return octets(obis.to_bytes())  # a push setup's logical name names the push
        value = self.objects.get(class_id, obis.to_bytes(), attribute, None)
        if obis == LOGICAL_DEVICE_NAME and not (isinstance(value, Data) and value.value):
            return octets(self._device_name)
        if not isinstance(value, Data):
            return NULL
        if index > 0:  # data_index: one element of a structured value
            return value.items[index - 1] if value.type in _CONTAINERS and index <= len(value.items) else NULL
        return value

    def _frame(self, body: Data) -> bytes:
        self._invoke_id = self._invoke_id % MAX_LONG_INVOKE_ID + 1
        clock = self.objects.get(_CLOCK_CLASS, CLOCK.to_bytes(), _VALUE, None)
        stamp = clock.value if isinstance(clock, Data) and isinstance(clock.value, bytes) else b""
        apdu = encode_data_notification(DataNotification(self._invoke_id, body, stamp if len(stamp) == 12 else b""))
        if self._keys is not None:
            apdu = cipher_apdu(
                apdu,
                wrapping=Wrapping.GENERAL,
                dedicated=False,
                security_control=Protection.AUTHENTICATED | Protection.ENCRYPTED,
                system_title=self.meter.identity.system_title,
                invocation_counter=self.meter.security.meter_counter.take(),
                keys=self._keys,
            )
        if self._hdlc:
            return _ui_frames(self.meter.identity.hdlc_address, LLC_RESPONSE + apdu)
        return self._framer.frame(self.meter.identity.wport, PUSH_CLIENT_WPORT, apdu)


def _ui_frames(source: HdlcAddress, information: bytes) -> bytes:
    """`information` in UI frames to the push client, cut at the default information field length."""
    destination, control = HdlcAddress(PUSH_CLIENT_WPORT), u_control(FrameKind.UI, True)
    pieces = [information[at : at + DEFAULT_INFO_FIELD] for at in range(0, len(information), DEFAULT_INFO_FIELD)]
    last = len(pieces) - 1
    return b"".join(
        encode_frame(HdlcFrame(destination, source, control, piece, segmented=number < last))
        for number, piece in enumerate(pieces)
    )


_CONTAINERS = (DataType.ARRAY, DataType.STRUCTURE)


class AlarmWatch:
    """Notices alarms in one meter's objects: the relay switching, the status word gaining a flag."""

    def __init__(self, objects: ObjectModel) -> None:
        self._objects = objects
        self._relay = self._get(_DISCONNECT_CLASS, DISCONNECT_CONTROL, _OUTPUT_STATE)
        self._status = self._flags()

    def check(self) -> AlarmBit:
        """The alarms raised since the last check (none: AlarmBit(0))."""
        alarms = AlarmBit(0)
        relay = self._get(_DISCONNECT_CLASS, DISCONNECT_CONTROL, _OUTPUT_STATE)
        if relay != self._relay:
            alarms |= AlarmBit.AUXILIARY_EVENT
        status = self._flags()
        if status & ~self._status:
            alarms |= AlarmBit.FRAUD_ATTEMPT
        self._relay, self._status = relay, status
        return alarms

    def _get(self, class_id: int, obis: ObisCode, attribute: int) -> Data | DataAccessResult:
        return self._objects.get(class_id, obis.to_bytes(), attribute, None)

    def _flags(self) -> int:
        """The status word as an integer of flags (a bit-string's or a number's), 0 when the meter has none."""
        value = self._get(_DATA_CLASS, STATUS_WORD, _VALUE)
        if not isinstance(value, Data):
            return 0
        if isinstance(value.value, int) and not isinstance(value.value, bool):
            return value.value
        return int.from_bytes(value.value.octets, "big") if isinstance(value.value, BitString) else 0
