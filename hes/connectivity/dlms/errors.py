"""Errors of a DLMS/COSEM client session, split by who broke the rule (h11 style), carrying the DLMS code.

- `LocalDlmsError`: the HES side asked for something it must not (an OBIS code its brand profile lacks, a request
  in the wrong session state, a value that cannot be encoded). Raised before anything is sent where possible.
- `RemoteDlmsError`: the meter sent something malformed, hostile or past a limit, or refused a request. Carries
  the DLMS code when the protocol has one (data-access-result, action-result, association diagnostic,
  exception-response service-error); None for framing problems.
- `DlmsTimeout`, `MeterUnreachable`, `ConnectionLost`: the link itself failed; neither side broke a DLMS rule.

`ends_session` tells the driver whether the association is still usable: a register the meter refuses to read
(`DataAccessError`) leaves it usable; a malformed frame, a timeout or a failed tag check does not.
"""

from __future__ import annotations

from typing import ClassVar

from hes.connectivity.dlms.results import (
    ActionResult,
    AssociationResult,
    DataAccessResult,
    ExceptionServiceError,
    ExceptionStateError,
    SourceDiagnostic,
    describe,
)
from hes.obis.codes import ObisCode

__all__ = [
    "ActionError",
    "AssociationRejected",
    "AuthenticationFailed",
    "CipheringError",
    "ConfirmedServiceError",
    "ConnectionLost",
    "DataAccessError",
    "DlmsError",
    "DlmsTimeout",
    "ExceptionResponse",
    "FramingError",
    "LimitExceeded",
    "LocalDlmsError",
    "LocalProtocolError",
    "MalformedAnswer",
    "MeterUnreachable",
    "RemoteDlmsError",
    "UnknownObject",
]


class DlmsError(Exception):
    """Base of every error of a DLMS session.

    Attributes:
        message: what went wrong, without any key or password.
        code: the DLMS code describing it on the wire, or None when the layer has none.
    """

    ends_session: ClassVar[bool] = True

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code!r})"


class LocalDlmsError(DlmsError):
    """The HES side broke a rule; nothing was sent for it, so the association stays usable."""

    ends_session = False


class UnknownObject(LocalDlmsError):
    """An OBIS code the meter's brand profile does not list, or lists with another interface class."""


class LocalProtocolError(LocalDlmsError):
    """A request the session's state does not allow (a GET before associating, two requests at once)."""

    ends_session = True


class RemoteDlmsError(DlmsError):
    """The meter broke a protocol rule or refused a request."""


class FramingError(RemoteDlmsError):
    """Octets that cannot start or form a wrapper / HDLC frame (garbage on the line)."""


class LimitExceeded(RemoteDlmsError):
    """An answer past one of the client's named limits (frame size, APDU size, number of blocks)."""


class MalformedAnswer(RemoteDlmsError):
    """A whole frame whose content the DLMS decoder cannot make sense of."""


class CipheringError(RemoteDlmsError):
    """A ciphered answer that fails its check: wrong tag, replayed invocation counter, or missing protection."""


class AssociationRejected(RemoteDlmsError):
    """The meter refused the association (AARE result not accepted); `code` is the source diagnostic."""

    def __init__(self, result: int, diagnostic: int | None) -> None:
        super().__init__(
            f"association rejected: {describe(AssociationResult, result)}, "
            f"diagnostic {describe(SourceDiagnostic, diagnostic)}",
            diagnostic,
        )
        self.result = result
        self.diagnostic = diagnostic


class AuthenticationFailed(RemoteDlmsError):
    """HLS pass 3/4 failed: the meter refused our f(StoC), or its f(CtoS) does not verify."""


class ExceptionResponse(RemoteDlmsError):
    """The meter answered with an exception-response; `code` is its service-error."""

    def __init__(self, state_error: int | None, service_error: int | None) -> None:
        super().__init__(
            f"exception-response: {describe(ExceptionStateError, state_error)}, "
            f"{describe(ExceptionServiceError, service_error)}",
            service_error,
        )
        self.state_error = state_error
        self.service_error = service_error


class ConfirmedServiceError(RemoteDlmsError):
    """The meter answered with a confirmed-service-error; `code` is the service error's value."""


class DataAccessError(RemoteDlmsError):
    """The meter refused to read or write one attribute; `code` is the data-access-result."""

    ends_session = False

    def __init__(self, obis: ObisCode, attribute: int, result: int) -> None:
        super().__init__(f"{obis} attribute {attribute}: {describe(DataAccessResult, result)}", result)
        self.obis = obis
        self.attribute = attribute


class ActionError(RemoteDlmsError):
    """The meter refused or failed a method; `code` is the action-result."""

    ends_session = False

    def __init__(self, obis: ObisCode, method: int, result: int) -> None:
        super().__init__(f"{obis} method {method}: {describe(ActionResult, result)}", result)
        self.obis = obis
        self.method = method


class DlmsTimeout(DlmsError):
    """No complete answer within the response (or connect) timeout."""


class MeterUnreachable(DlmsError):
    """The TCP connection to the meter could not be opened (refused, no route, connect timeout)."""


class ConnectionLost(DlmsError):
    """The meter closed or reset the connection while an answer was awaited."""
