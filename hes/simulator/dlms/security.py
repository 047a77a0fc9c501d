"""DLMS/COSEM security suite 0 (AES-GCM-128) on the meter side: ciphered APDUs and HLS-GMAC.

IEC 62056-5-3 9.2.7 (cryptographic protection) and the DLMS UA Green Book 9.2.7:
- security header = security control octet (SC) || invocation counter (IC, 4 octets); SC bit 4 authentication,
  bit 5 encryption, bit 6 broadcast key, bit 7 compression, bits 0..3 the suite (0 here);
- IV = system title of the sender (8 octets) || IC; tag = the leftmost 12 octets of the GCM tag;
- authenticated and encrypted: AAD = SC || AK, output = ciphertext || tag;
- authenticated only: AAD = SC || AK || APDU, output = APDU || tag;
- encrypted only: output = ciphertext (no tag: nothing protects its integrity);
- HLS mechanism 5 (HLS-GMAC): f(challenge) = SC || IC || GMAC(SC || AK || challenge), SC = 0x10.

All AES work is `cryptography`'s (AESGCM, and its GCM mode where a 12-octet tag must be verified): never a
hand-written AES. The invocation counters (replay guard, the meter's own IC) live in `security_counters`
and are re-exported here.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import Enum, IntFlag

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hes.simulator.dlms.apdu import ApduReader, ApduTag, ExceptionServiceError
from hes.simulator.dlms.axdr import encode_length
from hes.simulator.dlms.errors import LocalProtocolError, RemoteProtocolError
from hes.simulator.dlms.security_counters import MAX_INVOCATION_COUNTER, InvocationCounter, InvocationCounterGuard

__all__ = [
    "KEY_LENGTH",
    "MAX_CIPHERED_CONTENT",
    "MAX_INVOCATION_COUNTER",
    "SYSTEM_TITLE_LENGTH",
    "TAG_LENGTH",
    "CipheredApdu",
    "DecipheredApdu",
    "InvocationCounter",
    "InvocationCounterGuard",
    "Keys",
    "Protection",
    "Wrapping",
    "check_hls_gmac",
    "cipher_apdu",
    "ciphered_tag",
    "decipher_apdu",
    "decrypt",
    "encode_ciphered_apdu",
    "encrypt",
    "hls_gmac",
    "is_ciphered",
    "parse_ciphered_apdu",
    "plain_tag",
]

TAG_LENGTH = 12  # suite 0 truncates the GCM tag to 12 octets (IEC 62056-5-3 9.2.7.2.4.3)
SYSTEM_TITLE_LENGTH = 8  # IEC 62056-5-3 4.3.4: 3-octet manufacturer FLAG id + 5 octets
KEY_LENGTH = 16  # AES-128 for suite 0
# Longest ciphered-content accepted: an xDLMS APDU is bounded by the max PDU size, an Unsigned16
# (IEC 62056-5-3 InitiateRequest), plus the 5-octet security header and the 12-octet tag.
MAX_CIPHERED_CONTENT = 0xFFFF + 5 + TAG_LENGTH

_HEADER_LENGTH = 5  # SC + IC
_SUITE_MASK = 0x0F
_BROADCAST = 0x40
_COMPRESSED = 0x80
_GCM_TAG_LENGTH = 16
_DECIPHERING = ExceptionServiceError.DECIPHERING_ERROR  # what a meter answers when a check fails
_HLS_SC = 0x10  # f(StoC) / f(CtoS) are always "authentication only", suite 0 (IEC 62056-5-3 9.2.7.4)


class Protection(IntFlag):
    """The protection bits of the security control octet (IEC 62056-5-3 9.2.7.2.3, table 36)."""

    NONE = 0
    AUTHENTICATED = 0x10
    ENCRYPTED = 0x20


class Wrapping(Enum):
    """How an xDLMS APDU is carried ciphered (IEC 62056-5-3 9.2.7.2.4)."""

    SERVICE_SPECIFIC = "service-specific"  # glo-get-request etc.: the tag names the service
    GENERAL = "general"  # general-glo/ded-ciphering: carries the sender's system title, any service inside


@dataclass(frozen=True, slots=True)
class Keys:
    """The keys of one association: global unicast encryption key, authentication key, dedicated key (if any)."""

    encryption_key: bytes
    authentication_key: bytes
    dedicated_key: bytes | None = None

    def __post_init__(self) -> None:
        for name in ("encryption_key", "authentication_key", "dedicated_key"):
            key = getattr(self, name)
            if key is not None and len(key) != KEY_LENGTH:
                raise ValueError(f"{name} must be {KEY_LENGTH} octets, not {len(key)}")

    def __repr__(self) -> str:
        # Never let a key reach a log through repr().
        return "Keys(<redacted>)"


@dataclass(frozen=True, slots=True)
class CipheredApdu:
    """A ciphered APDU split into its parts; `payload` is the ciphertext (and tag) as sent."""

    tag: int
    security_control: int
    invocation_counter: int
    payload: bytes
    system_title: bytes | None = None  # present in general-glo/ded-ciphering only


@dataclass(frozen=True, slots=True)
class DecipheredApdu:
    """The plaintext of a ciphered APDU and how it was protected, so the answer can be protected the same way."""

    apdu: bytes
    wrapping: Wrapping
    dedicated: bool
    security_control: int
    invocation_counter: int
    system_title: bytes


# Service-specific ciphered tag by plain tag, for global and dedicated keys (IEC 62056-5-3 8.5).
_GLO_TAGS: dict[int, int] = {
    ApduTag.INITIATE_REQUEST: ApduTag.GLO_INITIATE_REQUEST,
    ApduTag.INITIATE_RESPONSE: ApduTag.GLO_INITIATE_RESPONSE,
    ApduTag.CONFIRMED_SERVICE_ERROR: ApduTag.GLO_CONFIRMED_SERVICE_ERROR,
    ApduTag.GET_REQUEST: ApduTag.GLO_GET_REQUEST,
    ApduTag.SET_REQUEST: ApduTag.GLO_SET_REQUEST,
    ApduTag.ACTION_REQUEST: ApduTag.GLO_ACTION_REQUEST,
    ApduTag.GET_RESPONSE: ApduTag.GLO_GET_RESPONSE,
    ApduTag.SET_RESPONSE: ApduTag.GLO_SET_RESPONSE,
    ApduTag.ACTION_RESPONSE: ApduTag.GLO_ACTION_RESPONSE,
}
_DED_TAGS: dict[int, int] = {
    ApduTag.INITIATE_REQUEST: ApduTag.DED_INITIATE_REQUEST,
    ApduTag.INITIATE_RESPONSE: ApduTag.DED_INITIATE_RESPONSE,
    ApduTag.CONFIRMED_SERVICE_ERROR: ApduTag.DED_CONFIRMED_SERVICE_ERROR,
    ApduTag.GET_REQUEST: ApduTag.DED_GET_REQUEST,
    ApduTag.SET_REQUEST: ApduTag.DED_SET_REQUEST,
    ApduTag.ACTION_REQUEST: ApduTag.DED_ACTION_REQUEST,
    ApduTag.GET_RESPONSE: ApduTag.DED_GET_RESPONSE,
    ApduTag.SET_RESPONSE: ApduTag.DED_SET_RESPONSE,
    ApduTag.ACTION_RESPONSE: ApduTag.DED_ACTION_RESPONSE,
}
# Ciphered tag -> (plain tag, dedicated key?)
_PLAIN_TAGS: dict[int, tuple[int, bool]] = {
    **{ciphered: (plain, False) for plain, ciphered in _GLO_TAGS.items()},
    **{ciphered: (plain, True) for plain, ciphered in _DED_TAGS.items()},
}
_GENERAL_TAGS = {ApduTag.GENERAL_GLO_CIPHERING: False, ApduTag.GENERAL_DED_CIPHERING: True}


def plain_tag(ciphered: int) -> tuple[int, bool] | None:
    """The plain APDU tag a service-specific ciphered tag stands for, and whether it uses the dedicated key."""
    return _PLAIN_TAGS.get(ciphered)


def ciphered_tag(plain: int, dedicated: bool) -> int:
    """The service-specific glo (or ded) tag for a plain APDU tag.

    Raises:
        LocalProtocolError: the APDU has no service-specific ciphered form.
    """
    tag = (_DED_TAGS if dedicated else _GLO_TAGS).get(plain)
    if tag is None:
        raise LocalProtocolError(f"APDU tag 0x{plain:02X} has no service-specific ciphered form")
    return tag


def is_ciphered(tag: int) -> bool:
    """Whether an APDU tag is a ciphered APDU (service-specific or general ciphering)."""
    return tag in _PLAIN_TAGS or tag in _GENERAL_TAGS


# ---------------------------------------------------------------------------------------------------- GCM


def _iv(system_title: bytes, invocation_counter: int) -> bytes:
    if len(system_title) != SYSTEM_TITLE_LENGTH:
        raise LocalProtocolError(f"system title must be {SYSTEM_TITLE_LENGTH} octets, not {len(system_title)}")
    if not 0 <= invocation_counter <= MAX_INVOCATION_COUNTER:
        raise LocalProtocolError(f"invocation counter {invocation_counter} does not fit 32 bits")
    return system_title + invocation_counter.to_bytes(4, "big")


def _check_sc(security_control: int) -> Protection:
    if security_control & _SUITE_MASK != 0:
        raise RemoteProtocolError(
            f"security suite {security_control & _SUITE_MASK} is not supported (suite 0 only)",
            _DECIPHERING,
        )
    if security_control & (_BROADCAST | _COMPRESSED):
        raise RemoteProtocolError("broadcast keys and compression are not supported", _DECIPHERING)
    protection = Protection(security_control & (Protection.AUTHENTICATED | Protection.ENCRYPTED))
    if protection is Protection.NONE:
        raise RemoteProtocolError("security control 0x00 protects nothing", _DECIPHERING)
    return protection


def encrypt(
    security_control: int,
    system_title: bytes,
    invocation_counter: int,
    plaintext: bytes,
    *,
    key: bytes,
    authentication_key: bytes,
) -> bytes:
    """Protect `plaintext`; returns the ciphered content SC || IC || protected octets (the body of a ciphered APDU).

    `key` is the block cipher key: the global unicast encryption key or the dedicated key.

    Raises:
        LocalProtocolError: a bad system title, counter or security control octet.
    """
    try:
        protection = _check_sc(security_control)
    except RemoteProtocolError as exc:
        raise LocalProtocolError(exc.message) from None
    iv = _iv(system_title, invocation_counter)
    sc = bytes((security_control,))
    header = sc + invocation_counter.to_bytes(4, "big")
    gcm = AESGCM(key)
    if protection is Protection.AUTHENTICATED:
        tag = gcm.encrypt(iv, b"", sc + authentication_key + plaintext)[:TAG_LENGTH]
        return header + plaintext + tag
    if protection is Protection.ENCRYPTED:
        # GCM's ciphertext does not depend on the AAD; without a tag this is plain GCM counter mode.
        return header + gcm.encrypt(iv, plaintext, None)[:-_GCM_TAG_LENGTH]
    sealed = gcm.encrypt(iv, plaintext, sc + authentication_key)
    return header + sealed[: len(plaintext)] + sealed[len(plaintext) : len(plaintext) + TAG_LENGTH]


def decrypt(content: bytes, system_title: bytes, *, key: bytes, authentication_key: bytes) -> tuple[int, int, bytes]:
    """Check and decrypt a ciphered content SC || IC || protected octets; returns (SC, IC, plaintext).

    Raises:
        RemoteProtocolError (code DECIPHERING_ERROR): truncated content, an unsupported security control octet,
            or a tag that does not verify (tampered ciphertext, tag, header, or wrong key).
    """
    if len(content) < _HEADER_LENGTH:
        raise RemoteProtocolError("ciphered content shorter than its security header")
    security_control = content[0]
    protection = _check_sc(security_control)
    invocation_counter = int.from_bytes(content[1:_HEADER_LENGTH], "big")
    body = content[_HEADER_LENGTH:]
    iv = _iv(system_title, invocation_counter)
    sc = bytes((security_control,))
    if protection is Protection.ENCRYPTED:
        # Counter mode is its own inverse: "encrypting" the ciphertext yields the plaintext.
        return security_control, invocation_counter, AESGCM(key).encrypt(iv, body, None)[:-_GCM_TAG_LENGTH]
    if len(body) < TAG_LENGTH:
        raise RemoteProtocolError("ciphered content shorter than its tag", _DECIPHERING)
    data, tag = body[:-TAG_LENGTH], body[-TAG_LENGTH:]
    if protection is Protection.AUTHENTICATED:
        expected = AESGCM(key).encrypt(iv, b"", sc + authentication_key + data)[:TAG_LENGTH]
        if not hmac.compare_digest(expected, tag):
            raise RemoteProtocolError("authentication tag does not verify", _DECIPHERING)
        return security_control, invocation_counter, data
    # AESGCM.decrypt only takes a 16-octet tag; the GCM mode verifies the 12-octet truncated one.
    decryptor = Cipher(algorithms.AES(key), modes.GCM(iv, tag, min_tag_length=TAG_LENGTH)).decryptor()
    decryptor.authenticate_additional_data(sc + authentication_key)
    try:
        plaintext = decryptor.update(data) + decryptor.finalize()
    except InvalidTag:
        raise RemoteProtocolError("authentication tag does not verify", _DECIPHERING) from None
    return security_control, invocation_counter, plaintext


# ---------------------------------------------------------------------------------------------------- APDUs


def parse_ciphered_apdu(apdu: bytes) -> CipheredApdu:
    """Split a ciphered APDU (service-specific glo/ded or general-glo/ded-ciphering) into its parts.

    Raises:
        RemoteProtocolError: not a ciphered APDU, truncated, a bad system title or trailing octets.
    """
    reader = ApduReader(apdu, "ciphered APDU")
    tag = reader.u8()
    system_title: bytes | None = None
    if tag in _GENERAL_TAGS:
        system_title = reader.octet_string(SYSTEM_TITLE_LENGTH)
        if len(system_title) != SYSTEM_TITLE_LENGTH:
            raise RemoteProtocolError(f"system title of {len(system_title)} octets", _DECIPHERING)
    elif tag not in _PLAIN_TAGS:
        raise RemoteProtocolError(f"APDU tag 0x{tag:02X} is not a ciphered APDU")
    content = reader.octet_string(MAX_CIPHERED_CONTENT)
    reader.end()
    if len(content) < _HEADER_LENGTH:
        raise RemoteProtocolError("ciphered content shorter than its security header")
    return CipheredApdu(tag, content[0], int.from_bytes(content[1:_HEADER_LENGTH], "big"), content[5:], system_title)


def encode_ciphered_apdu(apdu: CipheredApdu) -> bytes:
    """Encode a ciphered APDU from its parts (the inverse of `parse_ciphered_apdu`)."""
    content = bytes((apdu.security_control,)) + apdu.invocation_counter.to_bytes(4, "big") + apdu.payload
    out = bytearray((apdu.tag,))
    if apdu.system_title is not None:
        out += encode_length(len(apdu.system_title)) + apdu.system_title
    out += encode_length(len(content)) + content
    return bytes(out)


def decipher_apdu(apdu: bytes, peer_system_title: bytes, keys: Keys) -> DecipheredApdu:
    """Check and decrypt a ciphered APDU from the peer whose system title is `peer_system_title`.

    A general-ciphering APDU names its sender: it must be the peer of this association. A service-specific one
    must hold the service its tag names (a glo-get-request holds a GET-Request).

    Raises:
        RemoteProtocolError (code DECIPHERING_ERROR where the meter would answer it): malformed, another
            sender's system title, a dedicated-key APDU without a dedicated key, a tag that does not verify, or
            a plaintext of another service than the tag says.
    """
    parts = parse_ciphered_apdu(apdu)
    if parts.tag in _GENERAL_TAGS:
        wrapping, dedicated = Wrapping.GENERAL, _GENERAL_TAGS[ApduTag(parts.tag)]
        if parts.system_title != peer_system_title:
            raise RemoteProtocolError("general ciphering from another system title", _DECIPHERING)
        expected_plain: int | None = None
    else:
        wrapping = Wrapping.SERVICE_SPECIFIC
        expected_plain, dedicated = _PLAIN_TAGS[parts.tag]
    key = keys.dedicated_key if dedicated else keys.encryption_key
    if key is None:
        raise RemoteProtocolError("dedicated ciphering without a dedicated key", _DECIPHERING)
    content = bytes((parts.security_control,)) + parts.invocation_counter.to_bytes(4, "big") + parts.payload
    security_control, invocation_counter, plaintext = decrypt(
        content, peer_system_title, key=key, authentication_key=keys.authentication_key
    )
    if not plaintext or (expected_plain is not None and plaintext[0] != expected_plain):
        raise RemoteProtocolError(
            f"ciphered APDU 0x{parts.tag:02X} does not hold the service its tag names",
            _DECIPHERING,
        )
    return DecipheredApdu(plaintext, wrapping, dedicated, security_control, invocation_counter, peer_system_title)


def cipher_apdu(
    apdu: bytes,
    *,
    wrapping: Wrapping,
    dedicated: bool,
    security_control: int,
    system_title: bytes,
    invocation_counter: int,
    keys: Keys,
) -> bytes:
    """Protect a plain xDLMS APDU and wrap it as a ciphered APDU sent by `system_title`.

    Raises:
        LocalProtocolError: no dedicated key for dedicated ciphering, an APDU with no service-specific form, or
            a bad header value.
    """
    key = keys.dedicated_key if dedicated else keys.encryption_key
    if key is None:
        raise LocalProtocolError("dedicated ciphering without a dedicated key")
    content = encrypt(
        security_control, system_title, invocation_counter, apdu, key=key, authentication_key=keys.authentication_key
    )
    if wrapping is Wrapping.GENERAL:
        tag = ApduTag.GENERAL_DED_CIPHERING if dedicated else ApduTag.GENERAL_GLO_CIPHERING
        return bytes((tag,)) + encode_length(len(system_title)) + system_title + encode_length(len(content)) + content
    return bytes((ciphered_tag(apdu[0], dedicated),)) + encode_length(len(content)) + content


# ---------------------------------------------------------------------------------------------------- HLS-GMAC


def hls_gmac(challenge: bytes, system_title: bytes, invocation_counter: int, keys: Keys) -> bytes:
    """f(challenge) of HLS mechanism 5: SC || IC || GMAC(SC || AK || challenge) with IV = system title || IC.

    The meter answers f(CtoS) with its own system title and counter; it checks the client's f(StoC) with the
    client's (IEC 62056-5-3 9.2.7.4, Green Book 9.2.7.4.3).
    """
    iv = _iv(system_title, invocation_counter)
    header = bytes((_HLS_SC,)) + invocation_counter.to_bytes(4, "big")
    # GMAC is GCM with nothing to encrypt: everything authenticated goes in the AAD.
    tag = AESGCM(keys.encryption_key).encrypt(iv, b"", header[:1] + keys.authentication_key + challenge)
    return header + tag[:TAG_LENGTH]


def check_hls_gmac(answer: bytes, challenge: bytes, system_title: bytes, keys: Keys) -> bool:
    """Whether `answer` is the right f(challenge) from the holder of `keys` with `system_title`."""
    if len(answer) != _HEADER_LENGTH + TAG_LENGTH or answer[0] != _HLS_SC:
        return False
    expected = hls_gmac(challenge, system_title, int.from_bytes(answer[1:_HEADER_LENGTH], "big"), keys)
    return hmac.compare_digest(expected, answer)
