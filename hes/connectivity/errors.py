"""Connectivity's own errors: no way to reach a meter, and what an on-demand read answers when the meter fails.

`NoChannel` and `NotConnected` are raised by the session opener (hes.connectivity.channels) before any DLMS is
spoken. The HESError subclasses are what services raise to the API: the DLMS errors of a failed read are mapped
to them in one place (`read_failure`, habit 8).
"""

from __future__ import annotations

from hes.connectivity.dlms import DlmsError, DlmsTimeout, LocalDlmsError, MeterUnreachable
from hes.errors import HESError, Problem

__all__ = [
    "ChannelError",
    "ConnectivityUnavailable",
    "MeterNotAnswering",
    "MeterRefused",
    "NoChannel",
    "NotConnected",
    "QueueFull",
    "read_failure",
]


class ChannelError(Exception):
    """The meter cannot be reached by DLMS now; nothing was sent to it."""


class NoChannel(ChannelError):
    """The meter has no DLMS channel: it sends over HTTP or MQTT, or an outbound meter has no address."""


class NotConnected(ChannelError):
    """A dial-in meter whose connection to HES Core is not open (on this instance)."""


class QueueFull(Exception):
    """The job queue holds its maximum of jobs; the job was not queued."""


class MeterNotAnswering(HESError):
    """The meter did not answer in time, could not be reached, or is not connected (HTTP 504)."""

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()) -> None:
        super().__init__(message, problems, code="meter_timeout")


class MeterRefused(HESError):
    """The meter refused the session or answered in a way that ends it (HTTP 502)."""

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()) -> None:
        super().__init__(message, problems, code="meter_refused")


class ConnectivityUnavailable(HESError):
    """Meter connectivity is not running in this process, or is shutting down (HTTP 503)."""

    def __init__(self, message: str = "meter connectivity is not running; retry shortly") -> None:
        super().__init__(message, code="connectivity_unavailable")


def read_failure(error: DlmsError | ChannelError) -> HESError:
    """The API error of a read that failed with `error` (its type and DLMS code in the details)."""
    details = (Problem(f"{type(error).__name__}: {error}", field="meter"),)
    if isinstance(error, NotConnected):
        return MeterNotAnswering("the meter is not connected to HES Core", details)
    if isinstance(error, DlmsTimeout | MeterUnreachable):
        return MeterNotAnswering("the meter did not answer in time", details)
    if isinstance(error, LocalDlmsError | NoChannel):
        return HESError(str(error), details, code="invalid_request")
    return MeterRefused("the meter refused or broke off the read", details)
