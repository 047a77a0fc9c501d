"""Random and mutated APDUs into the decoders and the association: only RemoteProtocolError escapes, quickly."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hes.simulator.dlms.apdu_association import decode_aarq, decode_initiate_request, decode_rlrq
from hes.simulator.dlms.apdu_services import (
    AccessSelection,
    ActionResult,
    DataAccessResult,
    decode_action_request,
    decode_get_request,
    decode_set_request,
)
from hes.simulator.dlms.association import Association, AssociationConfig, State
from hes.simulator.dlms.errors import LocalProtocolError, RemoteProtocolError
from hes.simulator.dlms.security import Keys, Protection, Wrapping, cipher_apdu, decipher_apdu, parse_ciphered_apdu
from hes.simulator.dlms.values import Data, octets

SERVER_TITLE, CLIENT_TITLE = b"SIM00001", b"HES00001"
KEYS = Keys(bytes(range(16)), bytes(range(16, 32)))
FUZZ = settings(max_examples=300, deadline=250, suppress_health_check=[HealthCheck.too_slow])


class EchoMeter:
    """An object model that answers everything, so fuzzed requests reach every response path."""

    def get(
        self, class_id: int, obis: bytes, attribute: int, access: AccessSelection | None
    ) -> Data | DataAccessResult:
        if class_id == 1:
            return octets(bytes(attribute % 128) * 40)  # long enough to trigger block transfer now and then
        return DataAccessResult.OBJECT_UNDEFINED

    def set(
        self, class_id: int, obis: bytes, attribute: int, access: AccessSelection | None, value: Data
    ) -> DataAccessResult:
        return DataAccessResult.SUCCESS

    def action(self, class_id: int, obis: bytes, method: int, parameters: Data | None) -> Data | ActionResult | None:
        return parameters


def _aarq(*fields: str) -> bytes:
    body = b"".join(bytes.fromhex(field) for field in fields)
    return bytes((0x60, len(body))) + body


PLAIN_INITIATE = bytes.fromhex("01000000065f1f040000181d0040")  # client max PDU 64: block transfer is easy to hit
PLAIN_AARQ = _aarq("a109060760857405080101", "be10040e" + PLAIN_INITIATE.hex())


def _ciphered(apdu: bytes, counter: int) -> bytes:
    return cipher_apdu(
        apdu,
        wrapping=Wrapping.SERVICE_SPECIFIC,
        dedicated=False,
        security_control=0x30,
        system_title=CLIENT_TITLE,
        invocation_counter=counter,
        keys=KEYS,
    )


GLO_INITIATE = _ciphered(PLAIN_INITIATE, 1)
CIPHERED_AARQ = _aarq(
    "a109060760857405080103",
    "a60a0408" + CLIENT_TITLE.hex(),
    "be" + f"{len(GLO_INITIATE) + 2:02x}" + "04" + f"{len(GLO_INITIATE):02x}" + GLO_INITIATE.hex(),
)
REQUESTS = [
    PLAIN_AARQ,
    bytes.fromhex("c001c10001 0000600100ff 0200"),
    bytes.fromhex("c002c100000001"),
    bytes.fromhex("c003c102 0001 0000600100ff 0200 0003 0100010800ff 0300"),
    bytes.fromhex("c001c10007 0100630100ff 0201 02 0204 0600000001 0600000005 120001 120000"),
    bytes.fromhex("c101c10001 0000600100ff 0200 0903414243"),
    bytes.fromhex("c102c1 0001 0000600100ff 02 00 00 00000001 02 0902"),
    bytes.fromhex("c103c1 01 00000002 02 4142"),
    bytes.fromhex("c301c1 0046 0000600a03ff 01 01 0f00"),
    bytes.fromhex("6203800100"),
]


def _plain() -> Association:
    association = Association(AssociationConfig(system_title=SERVER_TITLE), EchoMeter())
    association.receive_apdu(PLAIN_AARQ)
    assert association.state is State.ASSOCIATED
    return association


def _secure() -> Association:
    config = AssociationConfig(
        system_title=SERVER_TITLE, keys=KEYS, security_policy=Protection.AUTHENTICATED | Protection.ENCRYPTED
    )
    association = Association(config, EchoMeter())
    association.receive_apdu(CIPHERED_AARQ)
    assert association.state is State.ASSOCIATED
    return association


def _serve(association: Association, apdus: list[bytes]) -> None:
    """Feed APDUs; a response must be bytes, a failure RemoteProtocolError, after which the association is dead."""
    for apdu in apdus:
        try:
            response = association.receive_apdu(apdu)
        except RemoteProtocolError:
            assert association.state is State.ERROR
            try:
                association.receive_apdu(apdu)
            except LocalProtocolError:
                return
            raise AssertionError("an association in error served a request") from None
        assert isinstance(response, bytes) and response


@st.composite
def mutated(draw: st.DrawFn, corpus: list[bytes]) -> bytes:
    """A corpus APDU with a few octets flipped, cut, inserted or deleted."""
    data = bytearray(draw(st.sampled_from(corpus)))
    for _ in range(draw(st.integers(1, 4))):
        operation = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        if operation == "flip" and data:
            data[position] ^= draw(st.integers(1, 255))
        elif operation == "cut":
            del data[position:]
        elif operation == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=4))
        elif data:
            del data[position]
    return bytes(data)


DECODERS: list[Callable[[bytes], object]] = [
    decode_aarq,
    decode_rlrq,
    decode_initiate_request,
    decode_get_request,
    decode_set_request,
    decode_action_request,
    parse_ciphered_apdu,
    lambda apdu: decipher_apdu(apdu, CLIENT_TITLE, KEYS),
]
SEED_APDUS = [*REQUESTS, CIPHERED_AARQ, PLAIN_INITIATE, GLO_INITIATE, _ciphered(REQUESTS[1], 2)]


@FUZZ
@given(st.one_of(st.binary(max_size=300), mutated(SEED_APDUS)))
def test_decoders_raise_only_remote_errors(apdu: bytes) -> None:
    for decode in DECODERS:
        with contextlib.suppress(RemoteProtocolError):
            decode(apdu)


@FUZZ
@given(st.lists(st.one_of(st.binary(max_size=200), mutated([*REQUESTS, CIPHERED_AARQ])), min_size=1, max_size=4))
def test_an_idle_association_survives_garbage(apdus: list[bytes]) -> None:
    _serve(Association(AssociationConfig(system_title=SERVER_TITLE, keys=KEYS), EchoMeter()), apdus)


@FUZZ
@given(st.lists(st.one_of(st.binary(max_size=200), mutated(REQUESTS)), min_size=1, max_size=6))
def test_an_associated_association_survives_garbage(apdus: list[bytes]) -> None:
    _serve(_plain(), apdus)


@FUZZ
@given(
    st.lists(
        st.one_of(
            mutated([_ciphered(request, counter) for counter, request in enumerate(REQUESTS[1:-1], start=2)]),
            st.binary(max_size=120).map(lambda body: bytes((0xC8, len(body))) + body),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_a_ciphered_association_survives_tampering(apdus: list[bytes]) -> None:
    _serve(_secure(), apdus)


@FUZZ
@given(st.lists(st.integers(1, 40), min_size=1, max_size=8))
def test_replayed_and_reordered_counters_are_refused_not_fatal(counters: list[int]) -> None:
    association = _secure()
    highest = 1  # the glo-initiate-request used counter 1
    for counter in counters:
        response = association.receive_apdu(_ciphered(REQUESTS[1], counter))
        if counter > highest:
            highest = counter
            assert response[0] == 0xCC
        else:
            assert response[:3] == bytes.fromhex("d80106")
    assert association.state is State.ASSOCIATED
