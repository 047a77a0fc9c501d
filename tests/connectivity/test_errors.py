"""What a failed on-demand read answers: the DLMS error mapped to 504, 502 or a request error, with its type."""

from __future__ import annotations

import pytest

from hes.connectivity.dlms import (
    AssociationRejected,
    ConnectionLost,
    DlmsError,
    DlmsTimeout,
    FramingError,
    MeterUnreachable,
    UnknownObject,
)
from hes.connectivity.errors import MeterNotAnswering, MeterRefused, NoChannel, NotConnected, read_failure


@pytest.mark.parametrize(
    ("error", "expected", "code"),
    [
        (DlmsTimeout("no answer within 30 s"), MeterNotAnswering, "meter_timeout"),
        (MeterUnreachable("no TCP connection"), MeterNotAnswering, "meter_timeout"),
        (NotConnected("dial-in meter not connected"), MeterNotAnswering, "meter_timeout"),
        (AssociationRejected(1, 13), MeterRefused, "meter_refused"),
        (ConnectionLost("the meter closed the connection"), MeterRefused, "meter_refused"),
        (FramingError("garbage"), MeterRefused, "meter_refused"),
    ],
)
def test_dlms_failures_map_to_gateway_errors(error: DlmsError, expected: type, code: str) -> None:
    mapped = read_failure(error)
    assert type(mapped) is expected and mapped.code == code
    assert mapped.problems[0].message.startswith(type(error).__name__)


def test_a_local_error_or_a_missing_channel_is_the_requests_fault() -> None:
    assert read_failure(UnknownObject("no object")).code == "invalid_request"
    assert read_failure(NoChannel("HTTP meter")).code == "invalid_request"
