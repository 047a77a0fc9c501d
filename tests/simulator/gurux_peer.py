"""Test-only peers for the simulated meters: a tiny object model, and gurux-dlms's client driven over any wire.

`GuruxPeer` runs gurux's sans-IO client (requests are frames, `getData` parses answers) over a `Wire`: either
straight into a `MeterConnection` (`ConnectionWire`, no sockets) or over asyncio streams (`StreamWire`, real TCP).
It reads until gurux says the answer is complete, fetching further HDLC segments and GET blocks as gurux's own
reader loop does.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from datetime import UTC, datetime
from typing import Any, Protocol

from gurux_dlms import GXByteBuffer, GXReplyData
from gurux_dlms.enums import Authentication as GuruxAuthentication
from gurux_dlms.enums import InterfaceType, Security
from gurux_dlms.objects import GXDLMSClock, GXDLMSData, GXDLMSRegister
from gurux_dlms.secure import GXDLMSSecureClient

from hes.simulator.dlms.apdu_services import AccessSelection, ActionResult, DataAccessResult
from hes.simulator.dlms.association import ObjectModel
from hes.simulator.dlms.date_time import encode_date_time
from hes.simulator.dlms.values import Data, double_long_unsigned, enum, integer, octets, structure
from hes.simulator.fleet import Authentication, MeterSpec, Transport
from hes.simulator.meter import MANAGEMENT_LOGICAL_DEVICE, MeterConnection, ObjectsForClient

CLOCK, ENERGY, SERIAL = "0.0.1.0.0.255", "1.0.1.8.0.255", "0.0.96.1.0.255"
NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
ENERGY_WH = 123456  # shown as 123.456 kWh: scaler -3, unit Wh (30)
CLIENT_TITLE = b"HES00001"
_GURUX_AUTH = {
    Authentication.NONE: GuruxAuthentication.NONE,
    Authentication.LLS: GuruxAuthentication.LOW,
    Authentication.HLS_GMAC: GuruxAuthentication.HIGH_GMAC,
}
_READ_TIMEOUT = 5.0  # seconds a test waits for an answer before failing instead of hanging


def _obis(text: str) -> bytes:
    return bytes(int(part) for part in text.split("."))


class TinyObjects:
    """A clock, an active energy register with scaler_unit, and the serial number: enough to prove the wire."""

    def __init__(self, serial: str) -> None:
        self._values = {
            (8, _obis(CLOCK), 2): octets(encode_date_time(NOW, 0)),
            (3, _obis(ENERGY), 2): double_long_unsigned(ENERGY_WH),
            (3, _obis(ENERGY), 3): structure(integer(-3), enum(30)),
            (1, _obis(SERIAL), 2): octets(serial.encode()),
        }

    def get(
        self, class_id: int, obis: bytes, attribute: int, access: AccessSelection | None
    ) -> Data | DataAccessResult:
        return self._values.get((class_id, obis, attribute), DataAccessResult.OBJECT_UNDEFINED)

    def set(
        self, class_id: int, obis: bytes, attribute: int, access: AccessSelection | None, value: Data
    ) -> DataAccessResult:
        return DataAccessResult.READ_WRITE_DENIED

    def action(self, class_id: int, obis: bytes, method: int, parameters: Data | None) -> Data | ActionResult | None:
        return ActionResult.OBJECT_UNDEFINED


def tiny_objects(spec: MeterSpec) -> ObjectsForClient:
    """The objects factory `run_fleet` takes: one TinyObjects per meter, whatever the client."""
    objects: ObjectModel = TinyObjects(spec.meter_number)
    return lambda client_sap: objects


def gurux_client(spec: MeterSpec, *, client_sap: int | None = None, invocation_counter: int = 1) -> GXDLMSSecureClient:
    """A gurux client set up from the meter's spec (as the HES would from the secrets file)."""
    public = client_sap is not None and client_sap != spec.client_sap
    authentication = Authentication.NONE if public else spec.authentication
    if spec.transport is Transport.HDLC:
        server = GXDLMSSecureClient.getServerAddress(MANAGEMENT_LOGICAL_DEVICE, spec.physical_address)
        interface = InterfaceType.HDLC
    else:
        server, interface = MANAGEMENT_LOGICAL_DEVICE, InterfaceType.WRAPPER
    client = GXDLMSSecureClient(
        True,
        client_sap or spec.client_sap,
        server,
        _GURUX_AUTH[authentication],
        None if public else spec.lls_password,
        interface,
    )
    if spec.ciphered and not public:
        assert spec.encryption_key is not None and spec.authentication_key is not None
        client.ciphering.security = Security.AUTHENTICATION_ENCRYPTION
        client.ciphering.systemTitle = CLIENT_TITLE
        client.ciphering.blockCipherKey = spec.encryption_key
        client.ciphering.authenticationKey = spec.authentication_key
        client.ciphering.invocationCounter = invocation_counter
    return client


class Wire(Protocol):
    """Carries octets to a meter and back."""

    async def send(self, data: bytes) -> None: ...

    async def receive(self) -> bytes: ...


class ConnectionWire:
    """A wire straight into a sans-IO MeterConnection: what it answers is what the client receives."""

    def __init__(self, connection: MeterConnection) -> None:
        self.connection = connection
        self._answers: list[bytes] = []

    async def send(self, data: bytes) -> None:
        self._answers.append(self.connection.receive_data(data))

    async def receive(self) -> bytes:
        if not self._answers or not self._answers[0]:
            raise ConnectionError("the meter answered nothing")
        return self._answers.pop(0)


class StreamWire:
    """A wire over a real TCP connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> StreamWire:
        """Connect to a listening meter."""
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def receive(self) -> bytes:
        async with asyncio.timeout(_READ_TIMEOUT):
            data = await self.reader.read(4096)
        if not data:
            raise ConnectionError("the meter closed the connection")
        return data

    async def close(self) -> None:
        """Hang up."""
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


class GuruxPeer:
    """gurux's client over a wire: connect, associate, read, release, disconnect."""

    def __init__(self, client: GXDLMSSecureClient, wire: Wire) -> None:
        self.client = client
        self.wire = wire

    async def exchange(self, frames: Any) -> GXReplyData:
        """Send each request frame; read until gurux has the whole answer (fetching more segments / blocks)."""
        reply = GXReplyData()
        if frames is None:
            return reply
        for frame in frames if isinstance(frames, list) else [frames]:
            reply.clear()
            await self._round_trip(bytes(frame), reply)
            while reply.isMoreData():
                await self._round_trip(bytes(self.client.receiverReady(reply)), reply)
        return reply

    async def _round_trip(self, frame: bytes, reply: GXReplyData) -> None:
        await self.wire.send(frame)
        received = b""
        while True:
            received += await self.wire.receive()
            with contextlib.redirect_stdout(io.StringIO()):  # gurux prints "Encryption is applied."
                if self.client.getData(GXByteBuffer(received), reply, None):
                    return

    async def associate(self) -> None:
        """SNRM/UA on HDLC, then AARQ/AARE, then the HLS pass 3/4 when the mechanism needs it."""
        if self.client.interfaceType == InterfaceType.HDLC:
            reply = await self.exchange(self.client.snrmRequest())
            self.client.parseUAResponse(reply.data)
        reply = await self.exchange(self.client.aarqRequest())
        with contextlib.redirect_stdout(io.StringIO()):
            self.client.parseAareResponse(reply.data)
        if self.client.getIsAuthenticationRequired():
            reply = await self.exchange(self.client.getApplicationAssociationRequest())
            with contextlib.redirect_stdout(io.StringIO()):
                self.client.parseApplicationAssociationResponse(reply.data)

    async def read(self, target: Any, attribute: int) -> Any:
        """Read one attribute and store it in the gurux object; returns the decoded value."""
        reply = await self.exchange(self.client.read(target, attribute))
        self.client.updateValue(target, attribute, reply.value)
        return reply.value

    async def read_basics(self) -> tuple[datetime, float, str]:
        """The clock, the energy register (scaled) and the serial number."""
        clock = GXDLMSClock(CLOCK)
        await self.read(clock, 2)
        register = GXDLMSRegister(ENERGY)
        await self.read(register, 3)
        await self.read(register, 2)
        serial = GXDLMSData(SERIAL)
        await self.read(serial, 2)
        value = serial.value.decode() if isinstance(serial.value, bytes | bytearray) else str(serial.value)
        return clock.time.value.replace(tzinfo=UTC), register.value, value

    async def release(self) -> None:
        """RLRQ/RLRE, then DISC/UA on HDLC."""
        await self.exchange(self.client.releaseRequest())
        if self.client.interfaceType == InterfaceType.HDLC:
            await self.exchange(self.client.disconnectRequest())
