"""The meter-side association: how its state moves, and whole sessions against gurux-dlms's client (sans-IO).

gurux builds IEC 62056-47 wrapper frames; the test strips the 8-octet header, feeds the APDU to the association
and wraps the answer back for gurux. gurux does not verify GCM tags, so ciphered answers are also checked with
`cryptography`'s AES-GCM through dlms-cosem.
"""

from __future__ import annotations

import contextlib
import io
import struct
from datetime import UTC, datetime

import pytest
from dlms_cosem import cosem as cosem_objects
from dlms_cosem import dlms_data as cosem_data
from dlms_cosem import enumerations as cosem_enums
from dlms_cosem import security as dlms_cosem_security
from dlms_cosem import state as cosem_state
from dlms_cosem.connection import DlmsConnection
from dlms_cosem.protocol import acse as cosem_acse
from dlms_cosem.protocol import xdlms as cosem_xdlms
from gurux_dlms import GXByteBuffer, GXDLMSException, GXDLMSExceptionResponse, GXReplyData
from gurux_dlms.enums import Authentication, InterfaceType, Security
from gurux_dlms.enums import Conformance as GuruxConformance
from gurux_dlms.enums import DataType as GuruxDataType
from gurux_dlms.objects import GXDLMSClock, GXDLMSData, GXDLMSDisconnectControl, GXDLMSRegister
from gurux_dlms.secure import GXDLMSSecureClient

from hes.simulator.dlms.apdu import ExceptionServiceError, ExceptionStateError
from hes.simulator.dlms.apdu_association import AuthenticationMechanism, Conformance, SourceDiagnostic
from hes.simulator.dlms.apdu_services import AccessSelection, ActionResult, DataAccessResult
from hes.simulator.dlms.association import (
    DEFAULT_CONFORMANCE,
    Association,
    AssociationConfig,
    AssociationEstablished,
    AssociationRejected,
    AssociationReleased,
    AuthenticationFailed,
    RequestRefused,
    SecurityState,
    State,
)
from hes.simulator.dlms.date_time import encode_date_time
from hes.simulator.dlms.errors import LocalProtocolError, RemoteProtocolError
from hes.simulator.dlms.security import InvocationCounter, Keys, Protection
from hes.simulator.dlms.values import Data, DataType, boolean, double_long_unsigned, enum, integer, octets, structure

SERVER_TITLE = b"SIM00001"
CLIENT_TITLE = b"HES00001"
KEYS = Keys(bytes(range(16)), bytes(range(16, 32)))
CLOCK, ENERGY, SERIAL, DISCONNECT = "0.0.1.0.0.255", "1.0.1.8.0.255", "0.0.96.1.0.255", "0.0.96.3.10.255"
NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
_GURUX_AUTH = {
    AuthenticationMechanism.NONE: Authentication.NONE,
    AuthenticationMechanism.LLS: Authentication.LOW,
    AuthenticationMechanism.HLS_GMAC: Authentication.HIGH_GMAC,
}


def _obis(text: str) -> bytes:
    return bytes(int(part) for part in text.split("."))


class TinyMeter:
    """A clock, an energy register, a serial number (writable, long) and a disconnect control."""

    def __init__(self, serial: bytes = b"SIM-0001") -> None:
        self.serial = serial
        self.connected = True
        self.writes: list[Data] = []

    def get(
        self, class_id: int, obis: bytes, attribute: int, access: AccessSelection | None
    ) -> Data | DataAccessResult:
        values = {
            (8, _obis(CLOCK), 2): octets(encode_date_time(NOW, 0)),
            (3, _obis(ENERGY), 2): double_long_unsigned(123456),
            (3, _obis(ENERGY), 3): structure(integer(-3), enum(30)),
            (1, _obis(SERIAL), 2): octets(self.serial),
            (70, _obis(DISCONNECT), 2): boolean(self.connected),
        }
        return values.get((class_id, obis, attribute), DataAccessResult.OBJECT_UNDEFINED)

    def set(
        self, class_id: int, obis: bytes, attribute: int, access: AccessSelection | None, value: Data
    ) -> DataAccessResult:
        if (class_id, obis, attribute) != (1, _obis(SERIAL), 2):
            return DataAccessResult.READ_WRITE_DENIED
        if value.type is not DataType.OCTET_STRING or not isinstance(value.value, bytes):
            return DataAccessResult.TYPE_UNMATCHED
        self.serial = value.value
        self.writes.append(value)
        return DataAccessResult.SUCCESS

    def action(self, class_id: int, obis: bytes, method: int, parameters: Data | None) -> Data | ActionResult | None:
        if (class_id, obis) != (70, _obis(DISCONNECT)) or method not in (1, 2):
            return ActionResult.OBJECT_UNDEFINED
        self.connected = method == 2
        return None


def _wrap(apdu: bytes) -> bytes:
    # IEC 62056-47 header as the meter sends it: version 1, source wPort 1 (server), destination 16 (client).
    return struct.pack(">HHHH", 1, 1, 16, len(apdu)) + apdu


class Link:
    """gurux client <-> association, frame by frame, recording every APDU."""

    def __init__(self, client: GXDLMSSecureClient, association: Association) -> None:
        self.client = client
        self.association = association
        self.requests: list[bytes] = []
        self.responses: list[bytes] = []

    def send_apdu(self, apdu: bytes) -> bytes:
        self.requests.append(apdu)
        response = self.association.receive_apdu(apdu)
        self.responses.append(response)
        return response

    def exchange(self, frames: list[bytes] | list[list[bytes]] | None) -> GXReplyData:
        reply = GXReplyData()
        for frame in frames or []:
            reply.clear()
            self._feed(self.send_apdu(bytes(frame)[8:]), reply)
            while reply.isMoreData():
                self._feed(self.send_apdu(bytes(self.client.receiverReady(reply))[8:]), reply)
        return reply

    def _feed(self, response: bytes, reply: GXReplyData) -> None:
        with contextlib.redirect_stdout(io.StringIO()):  # gurux prints "Encryption is applied."
            self.client.getData(GXByteBuffer(_wrap(response)), reply, None)

    def associate(self) -> None:
        reply = self.exchange(self.client.aarqRequest())
        with contextlib.redirect_stdout(io.StringIO()):
            self.client.parseAareResponse(reply.data)
        if self.client.getIsAuthenticationRequired():
            reply = self.exchange(self.client.getApplicationAssociationRequest())
            with contextlib.redirect_stdout(io.StringIO()):
                self.client.parseApplicationAssociationResponse(reply.data)

    def read(self, target: object, attribute: int) -> object:
        reply = self.exchange(self.client.read(target, attribute))
        self.client.updateValue(target, attribute, reply.value)
        return getattr(reply, "value", None)


def _session(
    authentication: AuthenticationMechanism = AuthenticationMechanism.NONE,
    *,
    password: bytes | None = None,
    client_password: bytes | None = None,
    security: Security = Security.NONE,
    client_keys: Keys = KEYS,
    client_max_pdu: int = 0xFFFF,
    config_changes: dict[str, object] | None = None,
    state: SecurityState | None = None,
    meter: TinyMeter | None = None,
) -> Link:
    ciphered = security != Security.NONE
    settings: dict[str, object] = {
        "system_title": SERVER_TITLE,
        "authentication": authentication,
        "lls_password": password,
        "keys": KEYS if ciphered or authentication == AuthenticationMechanism.HLS_GMAC else None,
        "security_policy": Protection(int(security)) if ciphered else Protection.NONE,
    }
    settings.update(config_changes or {})
    association = Association(AssociationConfig(**settings), meter or TinyMeter(), state)  # type: ignore[arg-type]
    secret = client_password if client_password is not None else password
    client = GXDLMSSecureClient(True, 16, 1, _GURUX_AUTH[authentication], secret, InterfaceType.WRAPPER)
    client.maxReceivePDUSize = client_max_pdu
    client.ciphering.systemTitle = CLIENT_TITLE
    client.ciphering.blockCipherKey = client_keys.encryption_key
    client.ciphering.authenticationKey = client_keys.authentication_key
    client.ciphering.security = security
    return Link(client, association)


def _check_tag(ciphered_response: bytes, invocation_counter: int | None = None) -> bytes:
    """Decrypt a service-specific ciphered response independently (dlms-cosem / cryptography verify the tag)."""
    assert ciphered_response[0] in (0x28, 0xCC, 0xCD, 0xCF)
    content = (
        ciphered_response[2:] if ciphered_response[1] < 0x80 else ciphered_response[2 + (ciphered_response[1] & 0x7F) :]
    )
    counter = int.from_bytes(content[1:5], "big")
    if invocation_counter is not None:
        assert counter == invocation_counter
    control = dlms_cosem_security.SecurityControlField(0, authenticated=True, encrypted=True)
    return bytes(
        dlms_cosem_security.decrypt(
            control, SERVER_TITLE, counter, KEYS.encryption_key, content[5:], KEYS.authentication_key
        )
    )


# ---------------------------------------------------------------------------------------------------- state changes


def test_garbage_moves_to_error_and_the_association_stays_dead() -> None:
    link = _session()
    link.associate()
    with pytest.raises(RemoteProtocolError):
        link.association.receive_apdu(bytes.fromhex("c0 01 c1 0008"))  # truncated GET
    assert link.association.state is State.ERROR
    with pytest.raises(LocalProtocolError, match="in error"):
        link.association.receive_apdu(bytes.fromhex("c0 01 c1 0008 0000010000ff 02 00"))
    with pytest.raises(RemoteProtocolError):
        Association(AssociationConfig(system_title=SERVER_TITLE), TinyMeter()).receive_apdu(b"")


# ---------------------------------------------------------------------------------------------------- no security


def test_no_authentication_reads_clock_and_register() -> None:
    link = _session()
    link.associate()
    assert link.association.state is State.ASSOCIATED
    [established] = link.association.drain_events()
    assert isinstance(established, AssociationEstablished)
    assert established.mechanism == AuthenticationMechanism.NONE and not established.ciphered
    assert Conformance.GET in established.conformance
    clock = GXDLMSClock(CLOCK)
    link.read(clock, 2)
    assert clock.time.value.replace(tzinfo=UTC) == NOW
    register = GXDLMSRegister(ENERGY)
    link.read(register, 3)
    link.read(register, 2)
    assert (register.scaler, register.unit, register.value) == (0.001, 30, 123.456)
    reply = link.exchange(link.client.releaseRequest())
    assert reply is not None and link.responses[-1] == bytes.fromhex("6303800100")
    assert link.association.state is State.RELEASED
    assert link.association.drain_events() == [AssociationReleased()]


def test_unknown_object_and_refused_write() -> None:
    link = _session()
    link.associate()
    reply = link.exchange(link.client.read(GXDLMSData("0.0.96.99.0.255"), 2))
    assert reply.error == DataAccessResult.OBJECT_UNDEFINED
    assert link.responses[-1] == bytes.fromhex("c401c10104")
    register = GXDLMSRegister(ENERGY)
    register.value = 5
    reply = link.exchange(link.client.write(register, 2))
    assert reply.error == DataAccessResult.READ_WRITE_DENIED
    assert link.responses[-1] == bytes.fromhex("c501c103")


def test_requests_before_association_are_refused() -> None:
    link = _session()
    for request in (
        link.client.read(GXDLMSClock(CLOCK), 2),
        link.client.method(GXDLMSDisconnectControl(DISCONNECT), 1, 0, GuruxDataType.INT8),
    ):
        with pytest.raises(GXDLMSExceptionResponse) as caught:
            link.exchange(request)
        assert caught.value.exceptionStateError == ExceptionStateError.SERVICE_NOT_ALLOWED
    assert link.responses == [bytes.fromhex("d80101")] * 2
    assert link.association.state is State.IDLE
    assert link.association.receive_apdu(bytes.fromhex("6203800100")) == bytes.fromhex("d80101")
    events = link.association.drain_events()
    assert all(isinstance(event, RequestRefused) for event in events) and len(events) == 3


def test_unknown_apdu_tag_is_service_unknown() -> None:
    link = _session()
    link.associate()
    assert link.association.receive_apdu(b"\x05\x00") == bytes.fromhex("d80202")
    assert link.association.state is State.ASSOCIATED


# ---------------------------------------------------------------------------------------------------- LLS


def test_lls_with_the_right_password() -> None:
    link = _session(AuthenticationMechanism.LLS, password=b"12345678")
    link.associate()
    assert link.association.state is State.ASSOCIATED
    assert link.read(GXDLMSRegister(ENERGY), 2) == 123456


def test_lls_with_a_wrong_password_is_rejected() -> None:
    link = _session(AuthenticationMechanism.LLS, password=b"12345678", client_password=b"87654321")
    with pytest.raises(GXDLMSException) as caught:
        link.associate()
    assert caught.value.diagnostic == SourceDiagnostic.AUTHENTICATION_FAILURE
    assert link.association.state is State.IDLE
    assert link.association.drain_events() == [AssociationRejected(SourceDiagnostic.AUTHENTICATION_FAILURE)]
    # Still idle: a GET is refused, and a new AARQ with the right password is served.
    assert link.association.receive_apdu(bytes.fromhex("c001c10008 0000010000ff 0200")) == bytes.fromhex("d80101")
    link.client.password = b"12345678"
    link.associate()
    assert link.association.state is State.ASSOCIATED


def test_a_client_without_authentication_is_told_it_is_required() -> None:
    link = _session(AuthenticationMechanism.LLS, password=b"12345678")
    link.client.authentication = Authentication.NONE
    with pytest.raises(GXDLMSException) as caught:
        link.associate()
    assert caught.value.diagnostic == SourceDiagnostic.AUTHENTICATION_REQUIRED


# ---------------------------------------------------------------------------------------------------- HLS-GMAC


def test_hls_gmac_with_authenticated_encryption() -> None:
    link = _session(AuthenticationMechanism.HLS_GMAC, security=Security.AUTHENTICATION_ENCRYPTION)
    link.associate()
    assert link.association.state is State.ASSOCIATED
    established = [event for event in link.association.drain_events() if isinstance(event, AssociationEstablished)]
    assert established[0].client_system_title == CLIENT_TITLE and established[0].ciphered
    # AARQ user-information was a glo-initiate-request; the HLS reply was a glo-action-request.
    assert link.requests[0][0] == 0x60 and link.requests[1][0] == 0xCB
    assert link.responses[1][0] == 0xCF
    assert _check_tag(link.responses[1])[:4] == bytes.fromhex("c701c100")
    link.read(GXDLMSClock(CLOCK), 2)
    register = GXDLMSRegister(ENERGY)
    link.read(register, 3)
    link.read(register, 2)
    assert register.value == 123.456
    assert link.requests[-1][0] == 0xC8 and link.responses[-1][0] == 0xCC
    assert _check_tag(link.responses[-1]) == bytes.fromhex("c401c100 060001e240")
    counters = [int.from_bytes(response[3:7], "big") for response in link.responses[1:]]
    assert counters == sorted(set(counters))  # the meter's counter only increases


def test_hls_gmac_with_a_wrong_key_is_rejected_at_the_aarq() -> None:
    wrong = Keys(bytes(16), KEYS.authentication_key)
    link = _session(AuthenticationMechanism.HLS_GMAC, security=Security.AUTHENTICATION_ENCRYPTION, client_keys=wrong)
    with pytest.raises(GXDLMSException) as caught:
        link.associate()
    assert caught.value.diagnostic == SourceDiagnostic.AUTHENTICATION_FAILURE
    assert link.association.state is State.IDLE


def test_hls_gmac_with_a_wrong_key_fails_the_challenge() -> None:
    # Without ciphering the AARQ proves nothing; the wrong key shows in f(StoC).
    wrong = Keys(KEYS.encryption_key, bytes(16))
    link = _session(AuthenticationMechanism.HLS_GMAC, client_keys=wrong)
    with pytest.raises(Exception, match="do not match"):  # gurux raises a bare Exception here
        link.associate()
    assert link.association.state is State.IDLE
    assert AuthenticationFailed(AuthenticationMechanism.HLS_GMAC) in link.association.drain_events()
    assert link.responses[-1] == bytes.fromhex("c701c1fa00")  # other-reason, no data


def test_only_the_challenge_reply_is_served_before_authentication() -> None:
    link = _session(AuthenticationMechanism.HLS_GMAC)
    reply = link.exchange(link.client.aarqRequest())
    link.client.parseAareResponse(reply.data)
    assert link.association.state is State.AUTHENTICATING
    assert link.responses[0][0] == 0x61  # AARE
    assert bytes.fromhex("a305a10302010e") in link.responses[0]  # accepted, authentication-required
    assert link.association.receive_apdu(bytes.fromhex("c001c10008 0000010000ff 0200")) == bytes.fromhex("d80101")
    disconnect = bytes.fromhex("c301c1 0046 0000600a03ff 01 00")
    assert link.association.receive_apdu(disconnect) == bytes.fromhex("c701c10300")  # read-write-denied
    assert link.association.state is State.AUTHENTICATING


# ---------------------------------------------------------------------------------------------------- ciphering


@pytest.mark.parametrize("general", [False, True])
@pytest.mark.parametrize("security", [Security.AUTHENTICATION, Security.ENCRYPTION, Security.AUTHENTICATION_ENCRYPTION])
def test_ciphered_requests_are_answered_the_same_way(security: Security, general: bool) -> None:
    offered = DEFAULT_CONFORMANCE | Conformance.GENERAL_PROTECTION if general else DEFAULT_CONFORMANCE
    link = _session(security=security, config_changes={"conformance": offered})
    if general:
        link.client.proposedConformance |= GuruxConformance.GENERAL_PROTECTION
    link.associate()
    assert link.read(GXDLMSRegister(ENERGY), 2) == 123456
    request, response = link.requests[-1], link.responses[-1]
    assert request[0] == (0xDB if general else 0xC8)
    assert response[0] == (0xDB if general else 0xCC)
    control = response[11] if general else response[2]
    assert control == int(security)


def test_dedicated_key_ciphering() -> None:
    link = _session(security=Security.AUTHENTICATION_ENCRYPTION)
    link.client.ciphering.dedicatedKey = bytes(range(50, 66))
    link.associate()
    assert link.read(GXDLMSRegister(ENERGY), 2) == 123456
    assert (link.requests[-1][0], link.responses[-1][0]) == (0xD0, 0xD4)  # ded-get-request / ded-get-response


def test_a_tampered_ciphered_request_is_refused() -> None:
    link = _session(security=Security.AUTHENTICATION_ENCRYPTION)
    link.associate()
    request = bytearray(bytes(link.client.read(GXDLMSRegister(ENERGY), 2)[0])[8:])
    request[-1] ^= 0x01  # the GCM tag
    assert link.association.receive_apdu(bytes(request)) == bytes.fromhex("d80105")  # deciphering-error
    assert link.association.state is State.ASSOCIATED
    [refused] = [event for event in link.association.drain_events() if isinstance(event, RequestRefused)]
    assert refused.service_error is ExceptionServiceError.DECIPHERING_ERROR
    # The next genuine request is served: the tampered one did not move the client's counter.
    assert link.read(GXDLMSRegister(ENERGY), 2) == 123456


def test_a_replayed_invocation_counter_is_refused() -> None:
    link = _session(security=Security.AUTHENTICATION_ENCRYPTION)
    link.associate()
    link.read(GXDLMSRegister(ENERGY), 2)
    replay = link.requests[-1]
    answer = link.association.receive_apdu(replay)
    counter = int.from_bytes(replay[3:7], "big")
    assert answer == bytes.fromhex("d80106") + (counter + 1).to_bytes(4, "big")
    assert link.association.state is State.ASSOCIATED


def test_a_replayed_aarq_in_a_later_association_is_rejected() -> None:
    state = SecurityState(meter_counter=InvocationCounter(1000))
    first = _session(security=Security.AUTHENTICATION_ENCRYPTION, state=state)
    first.associate()
    aarq = first.requests[0]
    first.exchange(first.client.releaseRequest())
    again = Association(first.association.config, TinyMeter(), state)
    answer = again.receive_apdu(aarq)
    assert bytes.fromhex("a203020101") in answer and bytes.fromhex("a305a10302010d") in answer
    assert again.state is State.IDLE
    assert state.meter_counter.next_value > 1000


def test_plain_requests_in_a_ciphered_policy_are_refused() -> None:
    link = _session(security=Security.AUTHENTICATION_ENCRYPTION)
    link.associate()
    assert link.association.receive_apdu(bytes.fromhex("c001c10003 0100010800ff 0200")) == bytes.fromhex("d80101")


def test_ciphered_requests_outside_a_ciphered_association_are_refused() -> None:
    link = _session()
    link.associate()
    ciphered = bytes.fromhex("C81E3001234567411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B")
    assert link.association.receive_apdu(ciphered) == bytes.fromhex("d80101")


# ---------------------------------------------------------------------------------------------------- long values


@pytest.mark.parametrize("security", [Security.NONE, Security.AUTHENTICATION_ENCRYPTION])
@pytest.mark.parametrize("general", [False, True])
def test_a_long_value_is_sent_in_blocks(security: Security, general: bool) -> None:
    serial = bytes(range(256)) * 3
    offered = DEFAULT_CONFORMANCE | Conformance.GENERAL_PROTECTION if general else DEFAULT_CONFORMANCE
    link = _session(
        security=security, client_max_pdu=64, meter=TinyMeter(serial), config_changes={"conformance": offered}
    )
    if general:
        link.client.proposedConformance |= GuruxConformance.GENERAL_PROTECTION
    link.associate()
    data = GXDLMSData(SERIAL)
    link.read(data, 2)
    assert bytes(data.value) == serial
    blocks = link.responses[1:]
    assert len(blocks) > len(serial) // 64 and all(len(response) <= 64 for response in blocks)
    if security == Security.NONE:
        assert all(response[:2] == b"\xc4\x02" for response in blocks)


def test_get_next_without_a_transfer_and_with_a_wrong_block_number() -> None:
    link = _session(client_max_pdu=64, meter=TinyMeter(bytes(500)))
    link.associate()
    assert link.association.receive_apdu(bytes.fromhex("c002c100000001")) == bytes.fromhex("c402c10100000001 0110")
    first = link.association.receive_apdu(bytes.fromhex("c001c10001 0000600100ff 0200"))
    assert first[:8] == bytes.fromhex("c402c10000000001")
    assert link.association.receive_apdu(bytes.fromhex("c002c100000005")) == bytes.fromhex("c402c10100000005 010f")
    assert link.association.receive_apdu(bytes.fromhex("c002c100000001")) == bytes.fromhex("c402c10100000001 0110")


def test_set_and_action() -> None:
    meter = TinyMeter()
    link = _session(meter=meter)
    link.associate()
    data = GXDLMSData(SERIAL)
    data.value = b"NEW-SERIAL"
    link.exchange(link.client.write(data, 2))
    assert meter.serial == b"NEW-SERIAL" and link.responses[-1] == bytes.fromhex("c501c100")
    disconnect = GXDLMSDisconnectControl(DISCONNECT)
    link.exchange(disconnect.remoteDisconnect(link.client))
    assert meter.connected is False and link.responses[-1] == bytes.fromhex("c701c10000")
    link.exchange(disconnect.remoteReconnect(link.client))
    assert meter.connected is True


def test_a_long_write_arrives_in_blocks() -> None:
    meter = TinyMeter()
    link = _session(
        meter=meter, security=Security.AUTHENTICATION_ENCRYPTION, config_changes={"server_max_pdu_size": 64}
    )
    link.associate()
    data = GXDLMSData(SERIAL)
    data.value = bytes(range(200))
    link.exchange(link.client.write(data, 2))
    assert meter.serial == bytes(range(200))
    assert len(meter.writes) == 1 and len(link.requests) > 5
    assert _check_tag(link.responses[-1])[:3] == bytes.fromhex("c503c1")  # set-response-last-datablock


def test_set_block_errors() -> None:
    link = _session()
    link.associate()
    # A following block with no transfer in progress, then a first block numbered 2.
    assert link.association.receive_apdu(bytes.fromhex("c103c1 01 00000002 01 00")) == bytes.fromhex("c503c11200000002")
    first = bytes.fromhex("c102c1 0001 0000600100ff 02 00 00 00000002 01 09")
    assert link.association.receive_apdu(first) == bytes.fromhex("c503c11300000002")
    # A proper first block, then a block out of sequence.
    first = bytes.fromhex("c102c1 0001 0000600100ff 02 00 00 00000001 02 0902")
    assert link.association.receive_apdu(first) == bytes.fromhex("c502c100000001")
    assert link.association.receive_apdu(bytes.fromhex("c103c1 01 00000003 02 4142")) == bytes.fromhex(
        "c503c11300000003"
    )
    # A complete transfer whose bytes are not one value.
    link.association.receive_apdu(bytes.fromhex("c102c1 0001 0000600100ff 02 00 00 00000001 02 0902"))
    assert link.association.receive_apdu(bytes.fromhex("c103c1 01 00000002 03 414243")) == bytes.fromhex(
        "c503c10c00000002"
    )


# ---------------------------------------------------------------------------------------------------- AARQ rules


def _aarq(*fields: str) -> bytes:
    body = b"".join(bytes.fromhex(field) for field in fields)
    return bytes((0x60, len(body))) + body


LN, LN_CIPHERED = "a109060760857405080101", "a109060760857405080103"
PLAIN_INITIATE = "be10040e01000000065f1f040000181dffff"


@pytest.mark.parametrize(
    ("aarq", "diagnostic"),
    [
        (_aarq("a109060760857405080102", PLAIN_INITIATE), SourceDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED),
        (_aarq(LN_CIPHERED, PLAIN_INITIATE), SourceDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED),
        (
            _aarq(LN, "8b0760857405080203", PLAIN_INITIATE),
            SourceDiagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED,
        ),
        (_aarq(LN, "8a020780", PLAIN_INITIATE), SourceDiagnostic.AUTHENTICATION_MECHANISM_NAME_REQUIRED),
        (
            _aarq(LN, "8b0760857405080201", "ac0480023132", PLAIN_INITIATE),
            SourceDiagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED,
        ),
        (_aarq(LN), SourceDiagnostic.NO_REASON_GIVEN),
    ],
)
def test_aarq_rejections(aarq: bytes, diagnostic: SourceDiagnostic) -> None:
    association = Association(AssociationConfig(system_title=SERVER_TITLE), TinyMeter())
    answer = association.receive_apdu(aarq)
    assert bytes.fromhex("a203020101") in answer
    assert bytes.fromhex("a305a1030201") + bytes((diagnostic,)) in answer
    assert association.drain_events() == [AssociationRejected(diagnostic)]


@pytest.mark.parametrize(
    ("initiate", "error"),
    [
        ("be10040e01000000055f1f040000181dffff", 1),  # DLMS version 5
        ("be10040e01000000065f1f040000181d0020", 3),  # client max PDU 32
        ("be10040e01000000065f1f0400000000ffff", 2),  # no service in common
    ],
)
def test_initiate_errors(initiate: str, error: int) -> None:
    association = Association(AssociationConfig(system_title=SERVER_TITLE), TinyMeter())
    answer = association.receive_apdu(_aarq(LN, initiate))
    assert answer.endswith(bytes.fromhex("be0604040e0106") + bytes((error,)))


def test_a_dedicated_key_in_clear_is_refused() -> None:
    association = Association(AssociationConfig(system_title=SERVER_TITLE), TinyMeter())
    initiate = "01 01 10" + "00" * 16 + "00 00 06 5f1f040000181d ffff"
    field = bytes.fromhex(initiate)
    user_information = "be" + f"{len(field) + 2:02x}" + "04" + f"{len(field):02x}" + field.hex()
    answer = association.receive_apdu(_aarq(LN, user_information))
    assert bytes.fromhex("a203020101") in answer


def test_config_is_checked_and_keeps_secrets_out_of_repr() -> None:
    with pytest.raises(ValueError):
        AssociationConfig(system_title=b"short")
    with pytest.raises(ValueError):
        AssociationConfig(system_title=SERVER_TITLE, authentication=AuthenticationMechanism.LLS)
    with pytest.raises(ValueError):
        AssociationConfig(system_title=SERVER_TITLE, authentication=AuthenticationMechanism.HLS_GMAC)
    with pytest.raises(ValueError):
        AssociationConfig(system_title=SERVER_TITLE, authentication=AuthenticationMechanism.HLS_MD5)
    with pytest.raises(ValueError):
        AssociationConfig(system_title=SERVER_TITLE, server_max_pdu_size=32)
    config = AssociationConfig(
        system_title=SERVER_TITLE, authentication=AuthenticationMechanism.LLS, lls_password=b"topsecret"
    )
    assert "topsecret" not in repr(config)


# ---------------------------------------------------------------------------------------------------- dlms-cosem


def _cosem_exchange(connection: DlmsConnection, association: Association, event: object) -> object:
    connection.receive_data(association.receive_apdu(connection.send(event)))
    return connection.next_event()


def test_dlms_cosem_client_without_security() -> None:
    connection = DlmsConnection(client_system_title=CLIENT_TITLE)
    association = Association(AssociationConfig(system_title=SERVER_TITLE), TinyMeter())
    aare = _cosem_exchange(connection, association, connection.get_aarq())
    assert aare.result == cosem_enums.AssociationResult.ACCEPTED  # type: ignore[attr-defined]
    register = cosem_objects.CosemAttribute(cosem_enums.CosemInterface.REGISTER, cosem_objects.Obis(1, 0, 1, 8, 0), 2)
    response = _cosem_exchange(connection, association, cosem_xdlms.GetRequestNormal(register))
    assert response.data == bytes.fromhex("060001e240")  # type: ignore[attr-defined]
    release = _cosem_exchange(
        connection, association, cosem_acse.ReleaseRequest(reason=cosem_enums.ReleaseRequestReason.NORMAL)
    )
    assert isinstance(release, cosem_acse.ReleaseResponse) and association.state is State.RELEASED


def test_dlms_cosem_client_with_hls_gmac_verifies_our_tags() -> None:
    # dlms-cosem checks every GCM tag with `cryptography`, ciphers its xDLMS requests as general-glo-ciphering and
    # its RLRQ user-information as a glo-initiate-request.
    connection = DlmsConnection(
        client_system_title=CLIENT_TITLE,
        global_encryption_key=KEYS.encryption_key,
        global_authentication_key=KEYS.authentication_key,
        authentication_method=cosem_enums.AuthenticationMechanism.HLS_GMAC,
    )
    config = AssociationConfig(
        system_title=SERVER_TITLE,
        authentication=AuthenticationMechanism.HLS_GMAC,
        keys=KEYS,
        security_policy=Protection.AUTHENTICATED | Protection.ENCRYPTED,
    )
    association = Association(config, TinyMeter())
    aare = _cosem_exchange(connection, association, connection.get_aarq())
    assert aare.result == cosem_enums.AssociationResult.ACCEPTED  # type: ignore[attr-defined]
    assert association.state is State.AUTHENTICATING
    method = cosem_objects.CosemMethod(cosem_enums.CosemInterface.ASSOCIATION_LN, cosem_objects.Obis(0, 0, 40, 0, 0), 1)
    reply = cosem_data.OctetStringData(connection.get_hls_reply()).to_bytes()
    answer = _cosem_exchange(connection, association, cosem_xdlms.ActionRequestNormal(cosem_method=method, data=reply))
    assert isinstance(answer, cosem_xdlms.ActionResponseNormalWithData)
    assert association.state is State.ASSOCIATED and connection.state.current_state == cosem_state.READY
    clock = cosem_objects.CosemAttribute(cosem_enums.CosemInterface.CLOCK, cosem_objects.Obis(0, 0, 1, 0, 0), 2)
    response = _cosem_exchange(connection, association, cosem_xdlms.GetRequestNormal(clock))
    assert bytes(response.data)[2:] == encode_date_time(NOW, 0)  # type: ignore[attr-defined]
    release = _cosem_exchange(connection, association, connection.get_rlrq())
    assert isinstance(release, cosem_acse.ReleaseResponse)
    assert isinstance(release.user_information.content, cosem_xdlms.InitiateResponse)  # deciphered by dlms-cosem
    assert association.state is State.RELEASED


def test_gurux_protected_release() -> None:
    link = _session(security=Security.AUTHENTICATION_ENCRYPTION)
    link.associate()
    link.client.useProtectedRelease = True
    link.exchange(link.client.releaseRequest())
    rlre = link.responses[-1]
    assert rlre[:5] == bytes.fromhex("63 " + f"{len(rlre) - 2:02x}" + " 800100")
    user_information = rlre[5:]
    assert user_information[0] == 0xBE and user_information[2] == 0x04  # [30] { OCTET STRING }
    assert _check_tag(user_information[4:])[0] == 0x08  # a glo-initiate-response holding an InitiateResponse
    assert link.association.state is State.RELEASED
