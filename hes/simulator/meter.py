"""A simulated meter, sans-IO: its identity, its security state and objects, and connections that turn bytes into bytes.

`SimulatedMeter` is one meter: who it is (meter number, brand, wrapper port, HDLC address, system title), which
client SAPs it serves and with what authentication and keys (one `AssociationConfig` each), its COSEM objects and
the one `SecurityState` (invocation counters) that all its associations share. A meter with the wrong-secret fault
(hes.simulator.faults) is built with another LLS password and other keys than its spec (and the secrets file) says.

A `MeterConnection` is one transport connection (one TCP socket) to it: received octets go in, octets to send come
out (`receive_data`), or the same octets as `Answer`s that say which meter sent them and which response APDU they
carry (`receive_answers`, for a driver that injects faults per meter). Two kinds (habit 1, the h2 style:
`receive_data(bytes) -> bytes`, `drain_events()`):

- `WrapperConnection`: IEC 62056-47 wrapper frames to one meter; the source wPort is the client SAP.
- `HdlcConnection`: IEC 62056-46 HDLC frames, routed by their destination address (upper = logical device,
  lower = physical device) to any meter on the line, as on a multi-drop bus. One HDLC link per meter addressed.

What a connection reports (`drain_events`) are the events of `meter_events`, re-exported here.

Each client SAP gets its own `Association` per connection (per HDLC link), created on its first APDU; an HDLC
SNRM or DISC ends the associations of that link (IEC 62056-46: the application association lives on the link).

Errors (habit 3): a RemoteProtocolError from any layer (a garbage frame, a bad FCS, a malformed APDU) or a request
for a wPort / client SAP the meter does not serve ends that connection only: `receive_data` returns whatever
answer the standard prescribes (HDLC DM / FRMR), sets `closed` and records a `CommunicationError` event. The
meter and every other connection carry on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from hes.simulator.dlms.apdu_association import AuthenticationMechanism, Conformance
from hes.simulator.dlms.association import (
    DEFAULT_CONFORMANCE,
    Association,
    AssociationConfig,
    ObjectModel,
    SecurityState,
)
from hes.simulator.dlms.errors import RemoteProtocolError
from hes.simulator.dlms.hdlc_frame import MAX_INFO_FIELD, HdlcAddress, HdlcFrameReader, encode_frame
from hes.simulator.dlms.hdlc_link import ApduReceived, HdlcLink, LinkConnected, LinkDisconnected, LinkEvent
from hes.simulator.dlms.security import Keys, Protection
from hes.simulator.dlms.wrapper import DEFAULT_MAX_APDU, WrapperFramer
from hes.simulator.faults import FaultKind, wrong_key, wrong_password
from hes.simulator.fleet import PUBLIC_CLIENT, Authentication, Ciphering, MeterSpec
from hes.simulator.meter_events import CommunicationError, ConnectionEvent, FrameIgnored, LinkChanged, SessionEvent

__all__ = [
    "MANAGEMENT_LOGICAL_DEVICE",
    "Answer",
    "CommunicationError",
    "ConnectionEvent",
    "FrameIgnored",
    "HdlcConnection",
    "LinkChanged",
    "MeterConnection",
    "MeterCounters",
    "MeterIdentity",
    "ObjectsForClient",
    "SessionEvent",
    "SimulatedMeter",
    "StationDirectory",
]

# The management logical device every meter has (Green Book, logical devices): server SAP 1, so wrapper wPort 1
# (IEC 62056-47) and HDLC upper address 1 (IEC 62056-46).
MANAGEMENT_LOGICAL_DEVICE = 1

_MECHANISMS = {
    Authentication.NONE: AuthenticationMechanism.NONE,
    Authentication.LLS: AuthenticationMechanism.LLS,
    Authentication.HLS_GMAC: AuthenticationMechanism.HLS_GMAC,
}

# What the HES's client may negotiate: general-protection only where the meter offers general ciphering.
_CONFORMANCE = {
    Ciphering.SERVICE_SPECIFIC: DEFAULT_CONFORMANCE,
    Ciphering.GENERAL: DEFAULT_CONFORMANCE | Conformance.GENERAL_PROTECTION,
}

# The objects an association of one client SAP sees (access rights differ per client: public 16, management 1...).
ObjectsForClient = Callable[[int], ObjectModel]


@dataclass(frozen=True, slots=True)
class MeterIdentity:
    """Who a simulated meter is on the wire."""

    meter_number: str
    brand: str
    system_title: bytes
    hdlc_address: HdlcAddress  # upper: logical device; lower: physical device (unique on a shared HDLC line)
    wport: int = MANAGEMENT_LOGICAL_DEVICE  # the logical device's wrapper port (IEC 62056-47)


@dataclass(slots=True)
class MeterCounters:
    """What happened to one meter since it started, for tests and benchmarks."""

    connections: int = 0
    requests: int = 0  # APDUs answered
    communication_errors: int = 0


class SimulatedMeter:
    """One simulated meter: identity, served clients, objects and shared security state; does no I/O."""

    def __init__(
        self,
        identity: MeterIdentity,
        clients: Mapping[int, AssociationConfig],
        objects: ObjectsForClient,
        security: SecurityState | None = None,
    ) -> None:
        """A meter that serves the client SAPs in `clients`, each with its association settings.

        Raises:
            ValueError: no client, or an association whose system title is not the meter's.
        """
        if not clients:
            raise ValueError("a meter serves at least one client SAP")
        if any(config.system_title != identity.system_title for config in clients.values()):
            raise ValueError("every association speaks with the meter's own system title")
        self.identity = identity
        self.clients = dict(clients)
        self.objects = objects
        self.security = security if security is not None else SecurityState()
        self.counters = MeterCounters()

    @classmethod
    def from_spec(
        cls, spec: MeterSpec, objects: ObjectsForClient, security: SecurityState | None = None
    ) -> SimulatedMeter:
        """The meter a fleet spec describes: the HES's client SAP with the spec's security, plus the public client.

        `security` is the meter's invocation counters when its objects show them (a fresh state by default).

        HLS-GMAC meters require every request of that client authenticated and encrypted (security suite 0); the
        public client (16) associates without authentication and without ciphering, as IDIS meters do. With the
        wrong-secret fault the meter's password and keys differ from the spec's, so the HES's association fails.
        """
        wrong = any(fault.kind is FaultKind.WRONG_SECRET for fault in spec.faults)
        password, encryption_key, authentication_key = spec.lls_password, spec.encryption_key, spec.authentication_key
        if wrong:
            password = wrong_password(password) if password is not None else None
            encryption_key = wrong_key(encryption_key) if encryption_key is not None else None
            authentication_key = wrong_key(authentication_key) if authentication_key is not None else None
        keys = None
        if encryption_key is not None and authentication_key is not None:
            keys = Keys(encryption_key, authentication_key)
        clients = {
            spec.client_sap: AssociationConfig(
                system_title=spec.system_title,
                authentication=_MECHANISMS[spec.authentication],
                lls_password=password,
                keys=keys,
                security_policy=Protection.AUTHENTICATED | Protection.ENCRYPTED if spec.ciphered else Protection.NONE,
                conformance=_CONFORMANCE[spec.ciphering],
            )
        }
        if spec.brand_info.public_client:
            clients.setdefault(PUBLIC_CLIENT, AssociationConfig(system_title=spec.system_title))
        identity = MeterIdentity(
            meter_number=spec.meter_number,
            brand=spec.brand,
            system_title=spec.system_title,
            hdlc_address=HdlcAddress.server(MANAGEMENT_LOGICAL_DEVICE, spec.physical_address),
        )
        return cls(identity, clients, objects, security)

    @property
    def meter_number(self) -> str:
        """The meter's serial number."""
        return self.identity.meter_number

    def new_association(self, client_sap: int) -> Association | None:
        """A fresh association for `client_sap`, or None when the meter does not serve that client."""
        config = self.clients.get(client_sap)
        if config is None:
            return None
        return Association(config, self.objects(client_sap), self.security)

    def wrapper_connection(self) -> WrapperConnection:
        """A new IEC 62056-47 connection to this meter."""
        return WrapperConnection(self)

    def hdlc_connection(self) -> HdlcConnection:
        """A new IEC 62056-46 connection on which this meter is the only station (it dialled the HES itself)."""
        address = self.identity.hdlc_address
        return HdlcConnection(lambda destination: self if destination.addresses(address) else None)

    def __repr__(self) -> str:
        return f"SimulatedMeter({self.identity.meter_number!r}, {self.identity.brand!r})"


# ---------------------------------------------------------------------------------------------------- answers


@dataclass(frozen=True, slots=True)
class Answer:
    """Octets one meter sends back: a wrapper frame, or the HDLC frames one received frame made the link send."""

    meter: SimulatedMeter | None  # None: a frame too broken to name its meter
    data: bytes
    client: int | None = None  # the client SAP of the request (wrapper source wPort / HDLC client address)
    apdu: bytes | None = None  # the response APDU inside a wrapper frame (HDLC frames are read from `data`)


# ---------------------------------------------------------------------------------------------------- connections


class MeterConnection:
    """One transport connection to the meter side: bytes in, bytes out, events; subclasses frame the APDUs."""

    def __init__(self) -> None:
        self.closed = False
        self._events: list[ConnectionEvent] = []
        self._answers: list[Answer] = []  # answers of this call, kept if a later frame in the same call fails

    def receive_data(self, data: bytes) -> bytes:
        """Feed received octets; returns the octets to send back (possibly none).

        Args:
            data: any number of received octets; empty bytes means the peer closed its side.

        Returns:
            The answers to every request the octets completed. After a protocol error, any answer the standard
            prescribes; `closed` is then True and the driver must close the connection once it is sent.
        """
        return b"".join(answer.data for answer in self.receive_answers(data))

    def receive_answers(self, data: bytes) -> list[Answer]:
        """Feed received octets, as `receive_data`; returns the same octets as one Answer per meter reply, in order."""
        if self.closed:
            return []
        try:
            self._receive(data)
        except RemoteProtocolError as error:
            self._fail(error.message)
        answers, self._answers = self._answers, []
        return answers

    def drain_events(self) -> list[ConnectionEvent]:
        """Events since the last call, oldest first."""
        events, self._events = self._events, []
        return events

    def _receive(self, data: bytes) -> None:
        """Process received octets, appending to `_answers`; raise RemoteProtocolError on a protocol error."""
        raise NotImplementedError

    def _pending(self) -> bytes:
        """Octets a lower layer queued before it raised (HDLC DM/FRMR); none for the wrapper."""
        return b""

    def _current_meter(self) -> SimulatedMeter | None:
        """The meter the failing frame was for, when known."""
        return None

    def _fail(self, reason: str) -> None:
        self.closed = True
        meter = self._current_meter()
        if meter is not None:
            meter.counters.communication_errors += 1
        self._events.append(CommunicationError(meter.meter_number if meter is not None else None, reason))
        pending = self._pending()
        if pending:
            self._answers.append(Answer(meter, pending))

    def _serve(self, meter: SimulatedMeter, associations: dict[int, Association], client: int, apdu: bytes) -> bytes:
        """The answer of `client`'s association (created on first use) to `apdu`.

        Raises:
            RemoteProtocolError: the meter does not serve `client`, or the APDU is malformed.
        """
        association = associations.get(client)
        if association is None:
            association = meter.new_association(client)
            if association is None:
                raise RemoteProtocolError(f"meter {meter.meter_number} serves no client SAP {client}")
            associations[client] = association
        try:
            answer = association.receive_apdu(apdu)
        finally:
            self._events.extend(SessionEvent(meter.meter_number, client, event) for event in association.drain_events())
        meter.counters.requests += 1
        return answer


class WrapperConnection(MeterConnection):
    """IEC 62056-47 wrapper frames to one meter; one association per client SAP (the source wPort)."""

    def __init__(self, meter: SimulatedMeter, max_apdu: int = DEFAULT_MAX_APDU) -> None:
        super().__init__()
        self.meter = meter
        self._framer = WrapperFramer(max_apdu)
        self._associations: dict[int, Association] = {}
        meter.counters.connections += 1

    def _current_meter(self) -> SimulatedMeter | None:
        return self.meter

    def _receive(self, data: bytes) -> None:
        for frame in self._framer.receive_data(data):
            if frame.destination_wport != self.meter.identity.wport:
                # A meter discards such frames; ending the connection tells a misconfigured client at once instead.
                raise RemoteProtocolError(f"no logical device at wPort {frame.destination_wport}")
            answer = self._serve(self.meter, self._associations, frame.source_wport, frame.apdu)
            framed = self._framer.frame(frame.destination_wport, frame.source_wport, answer)
            self._answers.append(Answer(self.meter, framed, frame.source_wport, answer))


# Finds the meter a frame addresses on an HDLC line: by logical (upper) and physical (lower) address; a 1-octet
# destination has no lower part and finds the meter only when it is alone on the line.
StationDirectory = Callable[[HdlcAddress], "SimulatedMeter | None"]


@dataclass(slots=True)
class _Station:
    """One meter's HDLC link on this connection, and the associations that live on it."""

    meter: SimulatedMeter
    link: HdlcLink
    associations: dict[int, Association] = field(default_factory=dict)


class HdlcConnection(MeterConnection):
    """IEC 62056-46 HDLC frames on one connection, routed by destination address to the meters of the line."""

    def __init__(self, directory: StationDirectory) -> None:
        super().__init__()
        self._directory = directory
        # The largest frame any link may negotiate; each link checks its own negotiated limit again.
        self._reader = HdlcFrameReader(MAX_INFO_FIELD)
        self._stations: dict[str, _Station] = {}
        self._current: _Station | None = None

    def _current_meter(self) -> SimulatedMeter | None:
        return self._current.meter if self._current is not None else None

    def _pending(self) -> bytes:
        return self._current.link.data_to_send() if self._current is not None else b""

    def _receive(self, data: bytes) -> None:
        self._reader.receive_data(data)
        while True:
            self._current = None  # a frame too broken to decode names no meter
            frame = self._reader.next_frame()
            if frame is None:
                return
            meter = self._directory(frame.destination)
            if meter is None:
                self._events.append(FrameIgnored(f"no meter at HDLC address {frame.destination}"))
                continue
            station = self._current = self._station(meter)
            for event in station.link.receive_data(encode_frame(frame)):
                self._on_link_event(station, event)
            out = station.link.data_to_send()
            if out:
                self._answers.append(Answer(meter, out, frame.source.upper))

    def _station(self, meter: SimulatedMeter) -> _Station:
        station = self._stations.get(meter.meter_number)
        if station is None:
            station = _Station(meter, HdlcLink(meter.identity.hdlc_address))
            self._stations[meter.meter_number] = station
            meter.counters.connections += 1
        return station

    def _on_link_event(self, station: _Station, event: LinkEvent) -> None:
        if isinstance(event, ApduReceived):
            station.link.send_apdu(self._serve(station.meter, station.associations, event.client, event.apdu))
            return
        # SNRM (a new link) and DISC both end the application associations carried by the old link.
        assert isinstance(event, LinkConnected | LinkDisconnected)
        station.associations.clear()
        self._events.append(LinkChanged(station.meter.meter_number, event))
