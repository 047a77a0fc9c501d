"""Security suite 0: Green Book test vectors, tamper and replay refusal, HLS-GMAC, invocation counters."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from dlms_cosem import security as dlms_cosem_security

from hes.simulator.dlms.apdu import ExceptionServiceError
from hes.simulator.dlms.errors import LocalProtocolError, RemoteProtocolError
from hes.simulator.dlms.security import (
    MAX_INVOCATION_COUNTER,
    CipheredApdu,
    InvocationCounter,
    InvocationCounterGuard,
    Keys,
    Wrapping,
    check_hls_gmac,
    cipher_apdu,
    ciphered_tag,
    decipher_apdu,
    encode_ciphered_apdu,
    hls_gmac,
    parse_ciphered_apdu,
    plain_tag,
)

# DLMS UA Green Book (8th ed.) table 40 / table 43 test data.
KEYS = Keys(bytes.fromhex("000102030405060708090A0B0C0D0E0F"), bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"))
SERVER_TITLE = bytes.fromhex("4D4D4D0000BC614E")
CLIENT_TITLE = bytes.fromhex("4D4D4D0000000001")
IC = 0x01234567
GET_CLOCK = bytes.fromhex("C0010000080000010000FF0200")  # GET-Request-Normal, clock attribute 2
GREEN_BOOK = {
    0x10: "C81E1001234567C0010000080000010000FF020006725D910F9221D263877516",
    0x20: "C8122001234567411312FF935A47566827C467BC",
    0x30: "C81E3001234567411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B",
}


def _cipher(apdu: bytes, security_control: int = 0x30, **overrides: object) -> bytes:
    arguments: dict[str, object] = {
        "wrapping": Wrapping.SERVICE_SPECIFIC,
        "dedicated": False,
        "security_control": security_control,
        "system_title": SERVER_TITLE,
        "invocation_counter": IC,
        "keys": KEYS,
    }
    arguments.update(overrides)
    return cipher_apdu(apdu, **arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize("security_control", sorted(GREEN_BOOK))
def test_green_book_vectors(security_control: int) -> None:
    expected = bytes.fromhex(GREEN_BOOK[security_control])
    assert _cipher(GET_CLOCK, security_control) == expected
    deciphered = decipher_apdu(expected, SERVER_TITLE, KEYS)
    assert deciphered.apdu == GET_CLOCK
    assert (deciphered.security_control, deciphered.invocation_counter) == (security_control, IC)
    assert deciphered.wrapping is Wrapping.SERVICE_SPECIFIC and not deciphered.dedicated


def test_our_tag_verifies_with_an_independent_gcm() -> None:
    # Cross-check with `cryptography`'s GCM directly and with dlms-cosem (which verifies tags, unlike gurux).
    ciphered = _cipher(GET_CLOCK, 0x30, invocation_counter=77)
    content = ciphered[2:]
    body, tag = content[5:-12], content[-12:]
    decryptor = Cipher(
        algorithms.AES(KEYS.encryption_key), modes.GCM(SERVER_TITLE + (77).to_bytes(4, "big"), tag, min_tag_length=12)
    ).decryptor()
    decryptor.authenticate_additional_data(b"\x30" + KEYS.authentication_key)
    assert decryptor.update(body) + decryptor.finalize() == GET_CLOCK
    control = dlms_cosem_security.SecurityControlField(0, authenticated=True, encrypted=True)
    plain = dlms_cosem_security.decrypt(
        control, SERVER_TITLE, 77, KEYS.encryption_key, content[5:], KEYS.authentication_key
    )
    assert plain == GET_CLOCK


@pytest.mark.parametrize("security_control", [0x10, 0x30])
@pytest.mark.parametrize("position", [0, 3, 7, -1, -12])
def test_a_flipped_octet_is_refused(security_control: int, position: int) -> None:
    ciphered = bytearray(_cipher(GET_CLOCK, security_control))
    # position counts in the protected part: after tag, length, SC and IC (ciphertext/APDU, then the tag).
    index = 7 + position if position >= 0 else len(ciphered) + position
    ciphered[index] ^= 0x01
    with pytest.raises(RemoteProtocolError) as caught:
        decipher_apdu(bytes(ciphered), SERVER_TITLE, KEYS)
    assert caught.value.code == ExceptionServiceError.DECIPHERING_ERROR


def test_a_tampered_header_or_wrong_key_is_refused() -> None:
    ciphered = bytearray(_cipher(GET_CLOCK))
    ciphered[3] ^= 0x01  # the invocation counter is part of the IV
    with pytest.raises(RemoteProtocolError):
        decipher_apdu(bytes(ciphered), SERVER_TITLE, KEYS)
    wrong = Keys(bytes(16), KEYS.authentication_key)
    with pytest.raises(RemoteProtocolError):
        decipher_apdu(_cipher(GET_CLOCK), SERVER_TITLE, wrong)
    wrong_ak = Keys(KEYS.encryption_key, bytes(16))
    with pytest.raises(RemoteProtocolError):
        decipher_apdu(_cipher(GET_CLOCK), SERVER_TITLE, wrong_ak)


def test_general_glo_ciphering_names_its_sender() -> None:
    ciphered = _cipher(GET_CLOCK, wrapping=Wrapping.GENERAL)
    assert ciphered[:10] == b"\xdb\x08" + SERVER_TITLE
    deciphered = decipher_apdu(ciphered, SERVER_TITLE, KEYS)
    assert (deciphered.apdu, deciphered.wrapping) == (GET_CLOCK, Wrapping.GENERAL)
    with pytest.raises(RemoteProtocolError, match="another system title"):
        decipher_apdu(ciphered, CLIENT_TITLE, KEYS)


def test_dedicated_key_ciphering() -> None:
    keys = Keys(KEYS.encryption_key, KEYS.authentication_key, bytes(range(100, 116)))
    ciphered = _cipher(GET_CLOCK, dedicated=True, keys=keys)
    assert ciphered[0] == 0xD0  # ded-get-request
    deciphered = decipher_apdu(ciphered, SERVER_TITLE, keys)
    assert deciphered.dedicated and deciphered.apdu == GET_CLOCK
    with pytest.raises(RemoteProtocolError, match="dedicated key"):
        decipher_apdu(ciphered, SERVER_TITLE, KEYS)
    with pytest.raises(LocalProtocolError):
        _cipher(GET_CLOCK, dedicated=True)


def test_a_service_specific_tag_must_match_its_content() -> None:
    set_request = bytes.fromhex("C1010000080000010000FF020011")
    ciphered = bytearray(_cipher(set_request))
    assert ciphered[0] == 0xC9
    ciphered[0] = 0xC8  # says glo-get-request, holds a SET-Request
    with pytest.raises(RemoteProtocolError, match="service"):
        decipher_apdu(bytes(ciphered), SERVER_TITLE, KEYS)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\xc8", "truncated"),
        (b"\xc8\x03\x30\x00\x00", "truncated|shorter"),
        (b"\xc4\x00", "not a ciphered"),
        (b"\xdb\x07" + bytes(7) + b"\x05\x30\x00\x00\x00\x01", "system title"),
        (bytes.fromhex(GREEN_BOOK[0x30]) + b"\x00", "trailing"),
    ],
)
def test_malformed_ciphered_apdus(raw: bytes, message: str) -> None:
    with pytest.raises(RemoteProtocolError, match=message):
        parse_ciphered_apdu(raw)


@pytest.mark.parametrize("security_control", [0x00, 0x31, 0x70, 0xB0])
def test_unsupported_security_controls_are_deciphering_errors(security_control: int) -> None:
    raw = encode_ciphered_apdu(CipheredApdu(0xC8, security_control, 1, bytes(20)))
    with pytest.raises(RemoteProtocolError) as caught:
        decipher_apdu(raw, SERVER_TITLE, KEYS)
    assert caught.value.code == ExceptionServiceError.DECIPHERING_ERROR


def test_ciphered_apdu_parts_round_trip() -> None:
    parts = parse_ciphered_apdu(_cipher(GET_CLOCK, wrapping=Wrapping.GENERAL))
    assert parts.system_title == SERVER_TITLE and parts.invocation_counter == IC
    assert encode_ciphered_apdu(parts) == _cipher(GET_CLOCK, wrapping=Wrapping.GENERAL)
    assert plain_tag(0xCC) == (0xC4, False) and plain_tag(0xD7) == (0xC7, True) and plain_tag(0xC4) is None
    assert ciphered_tag(0x01, dedicated=False) == 0x21
    with pytest.raises(LocalProtocolError):
        ciphered_tag(0xD8, dedicated=False)  # exception-response has no ciphered form


def test_hls_gmac_green_book_table_43() -> None:
    server_challenge, client_challenge = b"P6wRJ21F", b"K56iVagY"
    f_stoc = hls_gmac(server_challenge, CLIENT_TITLE, 1, KEYS)
    assert f_stoc == bytes.fromhex("10000000011A52FE7DD3E72748973C1E28")
    assert hls_gmac(client_challenge, SERVER_TITLE, IC, KEYS) == bytes.fromhex("1001234567FE1466AFB3DBCD4F9389E2B7")
    assert check_hls_gmac(f_stoc, server_challenge, CLIENT_TITLE, KEYS)
    assert not check_hls_gmac(f_stoc, client_challenge, CLIENT_TITLE, KEYS)
    assert not check_hls_gmac(f_stoc, server_challenge, SERVER_TITLE, KEYS)
    assert not check_hls_gmac(b"\x30" + f_stoc[1:], server_challenge, CLIENT_TITLE, KEYS)
    assert not check_hls_gmac(f_stoc[:-1], server_challenge, CLIENT_TITLE, KEYS)


def test_the_guard_refuses_replayed_and_lower_counters() -> None:
    guard = InvocationCounterGuard()
    guard.accept(5)
    guard.accept(9)
    for replay in (9, 8, 0):
        with pytest.raises(RemoteProtocolError) as caught:
            guard.accept(replay)
        assert caught.value.code == ExceptionServiceError.INVOCATION_COUNTER_ERROR
    assert guard.last == 9


def test_the_meter_counter_only_increases_and_ends() -> None:
    counter = InvocationCounter(7)
    assert [counter.take() for _ in range(3)] == [7, 8, 9]
    assert counter.next_value == 10
    last = InvocationCounter(MAX_INVOCATION_COUNTER)
    assert last.take() == MAX_INVOCATION_COUNTER
    with pytest.raises(LocalProtocolError, match="exhausted"):
        last.take()
    with pytest.raises(ValueError):
        InvocationCounter(-1)


def test_keys_are_checked_and_never_printed() -> None:
    with pytest.raises(ValueError):
        Keys(bytes(15), bytes(16))
    assert "0001" not in repr(KEYS) and "redacted" in repr(KEYS)
