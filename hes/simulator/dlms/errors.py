"""Protocol errors of the meter-side DLMS stack, split by who broke the rule (h11 style).

`LocalProtocolError`: our own code was asked to do something the protocol forbids (encode a value that does not
fit, send in the wrong state). `RemoteProtocolError`: the peer sent something malformed or hostile (a bad frame
check sequence, a length past a limit, an unknown tag). A decoder fed bad bytes raises RemoteProtocolError only,
so the transport driver can end just that session and log one communication event.

Both carry an optional `code`: the DLMS code that goes back on the wire when there is one (an exception-response
state-error / service-error, a data-access-result, an association result), else None.
"""

from __future__ import annotations


class DlmsError(Exception):
    """Base of every DLMS protocol error; never raised directly (raise a subclass).

    Attributes:
        code: the DLMS code that describes the problem on the wire (e.g. a data-access-result or an
            exception-response service-error), or None when the layer has no such code (framing).
    """

    def __init__(self, message: str, code: int | None = None) -> None:
        if type(self) is DlmsError:
            raise TypeError("raise LocalProtocolError or RemoteProtocolError, not DlmsError")
        super().__init__(message)
        self.message = message
        self.code = code

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code!r})"


class LocalProtocolError(DlmsError):
    """We broke a protocol rule: a value that cannot be encoded, an action illegal in the current state."""


class RemoteProtocolError(DlmsError):
    """The peer broke a protocol rule: malformed, truncated, oversized or out-of-sequence input."""
