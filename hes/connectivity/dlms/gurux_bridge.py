"""Where HES Core meets gurux-dlms: its client built from a MeterLink, its request builders fed without gurux
objects, and what it raises turned into our errors. Nothing here leaks a gurux type to callers (no I/O).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gurux_dlms import GXDLMSException, GXDLMSExceptionResponse  # type: ignore[import-untyped]
from gurux_dlms.enums import Authentication, DataType, InterfaceType, Security  # type: ignore[import-untyped]
from gurux_dlms.GXDLMSConfirmedServiceError import GXDLMSConfirmedServiceError  # type: ignore[import-untyped]
from gurux_dlms.secure import GXDLMSSecureClient  # type: ignore[import-untyped]

from hes.connectivity.dlms import ciphering
from hes.connectivity.dlms.errors import (
    AssociationRejected,
    ConfirmedServiceError,
    DlmsError,
    ExceptionResponse,
    MalformedAnswer,
)
from hes.connectivity.dlms.limits import ClientLimits
from hes.connectivity.dlms.link import MeterLink
from hes.obis.codes import ObisCode

__all__ = ["RAW_VALUE", "Target", "call_gurux", "frames", "new_gurux_client"]

ciphering.install()  # gurux's AES-GCM verified and its prints silenced before any client exists

# The data type that makes gurux copy a value's octets as they are: our own A-XDR encoding goes through.
RAW_VALUE = DataType.STRUCTURE
# The link's authentication (hes.db.enums.DlmsAuthentication, by value: the core imports nothing of hes.db).
_AUTHENTICATION = {"none": Authentication.NONE, "lls": Authentication.LOW, "hls-gmac": Authentication.HIGH_GMAC}


class Target:
    """What gurux's request builders read of a COSEM object: name, class, and for SET the encoded value."""

    __slots__ = ("buffer", "captureObjects", "logicalName", "name", "objectType", "sortObject", "value")

    def __init__(self, class_id: int, obis: ObisCode, value: bytes = b"") -> None:
        """A stand-in for the gurux object of class `class_id` named `obis`, holding A-XDR `value` to SET."""
        self.objectType = class_id
        self.logicalName = self.name = f"{obis.a}.{obis.b}.{obis.c}.{obis.d}.{obis.e}.{obis.f}"
        self.value = value
        self.sortObject: Target | None = None
        self.captureObjects: list[Any] = []
        self.buffer: list[Any] = []

    def getValue(self, _settings: Any, _event: Any) -> bytes:
        """The value to SET (gurux's GXDLMSObject.getValue)."""
        return self.value

    def getDataType(self, _index: int) -> Any:
        """Its type for gurux: raw octets."""
        return RAW_VALUE

    def getUIDataType(self, _index: int) -> Any:
        """No display type."""
        return DataType.NONE


def frames(request: Any) -> list[bytes]:
    """gurux's request (None, one frame, or a list of frames) as a list of frames."""
    if request is None:
        return []
    if isinstance(request, list):
        return [bytes(frame) for frame in request]
    return [bytes(request)]


def new_gurux_client(link: MeterLink, limits: ClientLimits) -> Any:
    """A GXDLMSSecureClient for `link`: addresses, mechanism, secrets, PDU and HDLC sizes, invocation counter."""
    hdlc = link.hdlc
    server = link.server_address
    if hdlc:
        server = GXDLMSSecureClient.getServerAddress(link.server_address, link.physical_address)
    client = GXDLMSSecureClient(
        True,
        link.client_address,
        server,
        _AUTHENTICATION[link.authentication.value],
        link.password if link.uses_password else None,
        InterfaceType.HDLC if hdlc else InterfaceType.WRAPPER,
    )
    client.maxReceivePDUSize = limits.max_receive_pdu
    if hdlc:
        client.hdlcSettings.maxInfoRX = client.hdlcSettings.maxInfoTX = limits.max_info_field
    if link.ciphered:
        client.ciphering.security = Security.AUTHENTICATION_ENCRYPTION
        client.ciphering.systemTitle = link.client_system_title
        client.ciphering.blockCipherKey = link.block_cipher_key
        client.ciphering.authenticationKey = link.authentication_key
        client.ciphering.invocationCounter = link.invocation_counter
    return client


def call_gurux(what: str, call: Callable[..., Any], *arguments: Any) -> Any:
    """Run a gurux call on a meter's octets, turning what it raises into our errors (the one boundary).

    Raises:
        AssociationRejected, ExceptionResponse, ConfirmedServiceError: the meter's refusals, with their codes.
        MalformedAnswer: anything else gurux raises on octets it cannot parse.
        DlmsError: our own ciphering's errors, raised from inside gurux, unchanged.
    """
    try:
        return call(*arguments)
    except DlmsError:
        raise
    except GXDLMSExceptionResponse as error:
        raise ExceptionResponse(_code(error.exceptionStateError), _code(error.exceptionServiceError)) from error
    except GXDLMSConfirmedServiceError as error:
        code = _code(error.serviceErrorValue)
        raise ConfirmedServiceError(f"confirmed-service-error in {what}: {error}", code) from error
    except GXDLMSException as error:
        if getattr(error, "result", None) is not None:
            raise AssociationRejected(int(error.result), _code(getattr(error, "diagnostic", None))) from error
        raise MalformedAnswer(f"{what}: {error}", _code(getattr(error, "errorCode", None))) from error
    except Exception as error:
        # gurux raises bare Exception, ValueError, IndexError, TypeError ... on octets it cannot parse.
        raise MalformedAnswer(f"{what} cannot be decoded: {type(error).__name__}: {error}") from error


def _code(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
