"""Neutralises the two defects of gurux-dlms 1.0.203 (notes/dlms.md), once per process, in one place.

1. Its AES-GCM (`GXDLMSChippering.decryptAesGcm`) never verifies the authentication tag: a ciphered answer with a
   flipped ciphertext or tag octet decodes to a silently wrong value. Both of its AES-GCM entry points are
   replaced by security suite 0 on `cryptography` (AESGCM to cipher, its GCM mode to verify the 12-octet tag;
   IEC 62056-5-3 9.2.7). The replacement also refuses answers that are not authenticated (encryption alone
   protects nothing), compressed or broadcast, and - through a `CounterGuard` a session attaches - answers whose
   invocation counter is not above the last one accepted (a replay). It is ~6x faster than gurux's pure-Python AES.
2. It prints ("Encryption is applied.", "Invalid StoC", ...) on stdout. Each gurux module that prints gets a
   module-level `print` that sends the text to this module's logger at debug level instead (gurux's own lines
   that would show a key are dropped).

gurux calls both functions through the class (`GXDLMSChippering.encryptAesGcm(p, data)`), so replacing the two
class attributes is the narrowest fix; subclassing cannot reach those call sites. `install()` is idempotent and
runs when hes.connectivity.dlms.client is imported.
"""

from __future__ import annotations

import hmac
import importlib
import logging
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from gurux_dlms import GXByteBuffer, GXDLMSChippering  # type: ignore[import-untyped]
from gurux_dlms.CountType import CountType  # type: ignore[import-untyped]
from gurux_dlms.enums import Command, Security  # type: ignore[import-untyped]
from gurux_dlms.internal._GXCommon import _GXCommon  # type: ignore[import-untyped]

from hes.connectivity.dlms.errors import CipheringError, LocalDlmsError, MalformedAnswer

__all__ = ["TAG_LENGTH", "CounterGuard", "attach_guard", "install"]

logger = logging.getLogger(__name__)

TAG_LENGTH = 12  # suite 0 keeps the leftmost 12 octets of the GCM tag (IEC 62056-5-3 9.2.7.2.4.3)
_GCM_TAG_LENGTH = 16
_HEADER = 5  # security control octet + 4-octet invocation counter
_BROADCAST, _COMPRESSED, _SUITE_MASK = 0x40, 0x80, 0x0F
_GUARD_ATTRIBUTE = "hes_counter_guard"  # where a session's CounterGuard sits on gurux's settings object
_GENERAL = frozenset({Command.GENERAL_GLO_CIPHERING, Command.GENERAL_DED_CIPHERING})
# Service-specific ciphered APDUs a client may receive (glo- and ded- responses, initiate response, notifications).
_SERVICE_SPECIFIC = frozenset(
    {
        Command.GLO_INITIATE_RESPONSE,
        Command.GLO_GET_RESPONSE,
        Command.GLO_SET_RESPONSE,
        Command.GLO_METHOD_RESPONSE,
        Command.GLO_EVENT_NOTIFICATION,
        Command.GLO_CONFIRMED_SERVICE_ERROR,
        Command.DED_GET_RESPONSE,
        Command.DED_SET_RESPONSE,
        Command.DED_METHOD_RESPONSE,
        Command.DED_EVENT_NOTIFICATION,
        Command.DED_CONFIRMED_SERVICE_ERROR,
    }
)
# gurux modules that call print() (grep of gurux-dlms 1.0.203).
_PRINTING_MODULES = (
    "gurux_dlms.GXDLMS",
    "gurux_dlms.GXDLMSChippering",
    "gurux_dlms.GXDLMSChipperingStream",
    "gurux_dlms.GXDLMSClient",
    "gurux_dlms.GXDLMSConverter",
    "gurux_dlms.GXDLMSLNCommandHandler",
    "gurux_dlms.GXDLMSSNCommandHandler",
    "gurux_dlms.GXDLMSSettings",
    "gurux_dlms.GXDLMSTranslator",
    "gurux_dlms.GXSecure",
    "gurux_dlms._GXAPDU",
    "gurux_dlms.manufacturersettings.GXManufacturerCollection",
    "gurux_dlms.objects.GXDLMSObjectCollection",
    "gurux_dlms.objects.GXDLMSProfileGeneric",
    "gurux_dlms.objects.GXDLMSSecuritySetup",
)
_installed = False


class CounterGuard:
    """The meter's invocation counters in one session: each authenticated answer's must be above the last."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last: int | None = None

    def accept(self, counter: int) -> None:
        """Record the counter of an answer whose tag verified.

        Raises:
            CipheringError: the counter is not above the last one accepted (a replayed answer).
        """
        if self.last is not None and counter <= self.last:
            raise CipheringError(f"replayed answer: invocation counter {counter} is not above {self.last}")
        self.last = counter


def attach_guard(settings: Any) -> CounterGuard:
    """A fresh CounterGuard checking every answer deciphered with gurux `settings` (one per session)."""
    guard = CounterGuard()
    setattr(settings, _GUARD_ATTRIBUTE, guard)
    return guard


def install() -> None:
    """Replace gurux's AES-GCM with the verified one and silence its prints (idempotent)."""
    global _installed
    if _installed:
        return
    GXDLMSChippering.encryptAesGcm = classmethod(_encrypt)
    GXDLMSChippering.decryptAesGcm = classmethod(_decrypt)
    for name in _PRINTING_MODULES:
        # A module global shadows the builtin for that module's code only.
        setattr(importlib.import_module(name), "print", _log_instead_of_print)  # noqa: B010
    _installed = True


def _log_instead_of_print(*values: object, **_options: object) -> None:
    text = " ".join(str(value) for value in values)
    if "key" not in text.lower():  # never let gurux's "Private signing key: ..." reach a log
        logger.debug("gurux: %s", text)


def _nonce(system_title: Any, invocation_counter: int) -> bytes:
    title = bytes(system_title or b"")
    if len(title) != 8:
        raise CipheringError("no 8-octet system title to build the GCM nonce from")
    return title + invocation_counter.to_bytes(4, "big")


def _encrypt(_cls: Any, p: Any, plain_text: Any) -> bytes:
    """gurux's encryptAesGcm on AESGCM: the same parameters (AesGcmParameter) and output layout."""
    plain = bytes(plain_text.array() if isinstance(plain_text, GXByteBuffer) else plain_text)
    p.countTag = None
    if p.securitySuite:
        raise LocalDlmsError("only security suite 0 (AES-GCM-128) is supported")
    control = p.security | p.securitySuite | (_BROADCAST if p.broadcast else 0) | (_COMPRESSED if p.compression else 0)
    key, authentication_key = bytes(p.blockCipherKey), bytes(p.authenticationKey or b"")
    nonce = _nonce(p.systemTitle, p.invocationCounter)
    if p.security == Security.AUTHENTICATION:
        body = plain
        tag: bytes | None = AESGCM(key).encrypt(nonce, b"", bytes((control,)) + authentication_key + plain)[:TAG_LENGTH]
    elif p.security == Security.AUTHENTICATION_ENCRYPTION:
        sealed = AESGCM(key).encrypt(nonce, plain, bytes((control,)) + authentication_key)
        body, tag = sealed[:-_GCM_TAG_LENGTH], sealed[-_GCM_TAG_LENGTH:][:TAG_LENGTH]
    elif p.security == Security.ENCRYPTION:
        body, tag = AESGCM(key).encrypt(nonce, plain, None)[:-_GCM_TAG_LENGTH], None
    else:
        raise LocalDlmsError(f"security {p.security} is not a ciphering")
    packet = p.type_ == CountType.PACKET
    parts = [bytes((control,)) + p.invocationCounter.to_bytes(4, "big")] if packet else []
    if packet or p.type_ & CountType.DATA or p.security == Security.ENCRYPTION:
        parts.append(body)
    if tag is not None and (packet or p.type_ & CountType.TAG):
        p.countTag = bytearray(tag)
        parts.append(tag)
    data = b"".join(parts)
    if not packet:
        return data
    head = GXByteBuffer()
    head.setUInt8(p.tag)
    if p.tag in (*_GENERAL, Command.DATA_NOTIFICATION):
        title = b"" if p.ignoreSystemTitle else bytes(p.systemTitle)
        _GXCommon.setObjectCount(len(title), head)
        head.set(title)
    _GXCommon.setObjectCount(len(data), head)
    return bytes(head.array()) + data


def _decrypt(_cls: Any, settings: Any, p: Any, data: Any) -> bytearray:
    """gurux's decryptAesGcm, verifying: the deciphered APDU, or CipheringError / MalformedAnswer."""
    if not data or len(data) - data.position < 2:
        raise MalformedAnswer("ciphered APDU too short")
    command = data.getUInt8()
    if command in _GENERAL:
        title = bytearray(_GXCommon.getObjectCount(data))
        data.get(title)
        if title:
            p.systemTitle = title
    elif command not in _SERVICE_SPECIFIC:
        raise CipheringError(f"ciphered APDU {command:#04x} is not one this client accepts")
    length = _GXCommon.getObjectCount(data)
    if length > len(data) - data.position or length < _HEADER:
        raise MalformedAnswer(f"ciphered content of {length} octets does not fit the APDU")
    content = bytes(data.array()[data.position : data.position + length])
    data.position += length
    control = content[0]
    security = control & (Security.AUTHENTICATION | Security.ENCRYPTION)
    if control & _SUITE_MASK or control & (_BROADCAST | _COMPRESSED):
        raise CipheringError(f"security control {control:#04x}: only unicast, uncompressed suite 0 is accepted")
    guard = getattr(settings, _GUARD_ATTRIBUTE, None)
    if not security & Security.AUTHENTICATION and isinstance(guard, CounterGuard):
        raise CipheringError("ciphered answer without authentication: nothing proves it came from the meter")
    if not p.blockCipherKey or not p.authenticationKey:
        raise CipheringError("ciphered answer in a session without keys")
    if security & Security.AUTHENTICATION and length < _HEADER + TAG_LENGTH:
        raise MalformedAnswer(f"ciphered content of {length} octets has no room for its authentication tag")
    counter = int.from_bytes(content[1:_HEADER], "big")
    nonce = _nonce(p.systemTitle, counter)
    if security == Security.ENCRYPTION:
        # Only a gurux client outside HES sessions gets here (the simulator's test peers): the patch is process-wide.
        # Encryption alone is GCM without its tag, i.e. AES-CTR from the counter block after J0 (NIST SP 800-38D).
        decryptor = Cipher(algorithms.AES(bytes(p.blockCipherKey)), modes.CTR(nonce + b"\0\0\0\2")).decryptor()
        p.security, p.securitySuite, p.invocationCounter = security, 0, counter
        p.compression = p.broadcast = False
        return bytearray(decryptor.update(content[_HEADER:]) + decryptor.finalize())
    body, tag = content[_HEADER:-TAG_LENGTH], content[-TAG_LENGTH:]
    key, authenticated = bytes(p.blockCipherKey), bytes((control,)) + bytes(p.authenticationKey)
    if security == Security.AUTHENTICATION:
        expected = AESGCM(key).encrypt(nonce, b"", authenticated + body)[:TAG_LENGTH]
        if not hmac.compare_digest(expected, tag):
            raise CipheringError("authentication tag does not verify: the answer was altered or the key is wrong")
        plain = body
    else:
        decryptor = Cipher(algorithms.AES(key), modes.GCM(nonce, tag, min_tag_length=TAG_LENGTH)).decryptor()
        decryptor.authenticate_additional_data(authenticated)
        try:
            plain = decryptor.update(body) + decryptor.finalize()
        except InvalidTag:
            raise CipheringError(
                "authentication tag does not verify: the answer was altered or the key is wrong"
            ) from None
    if isinstance(guard, CounterGuard):
        guard.accept(counter)
    p.security, p.securitySuite, p.invocationCounter = security, 0, counter
    p.compression = p.broadcast = False
    return bytearray(plain)
