"""Tests of the DLMS protocol error hierarchy."""

import pytest

from hes.simulator.dlms.errors import DlmsError, LocalProtocolError, RemoteProtocolError


def test_base_error_cannot_be_raised_directly() -> None:
    with pytest.raises(TypeError):
        DlmsError("who broke it?")


@pytest.mark.parametrize("kind", [LocalProtocolError, RemoteProtocolError])
def test_errors_carry_message_and_optional_code(kind: type[DlmsError]) -> None:
    plain = kind("bad frame")
    coded = kind("object undefined", code=4)

    assert isinstance(plain, DlmsError)
    assert str(plain) == "bad frame"
    assert plain.code is None
    assert coded.code == 4
    assert repr(coded) == f"{kind.__name__}('object undefined', code=4)"


def test_local_and_remote_are_distinct() -> None:
    with pytest.raises(RemoteProtocolError):
        try:
            raise RemoteProtocolError("peer")
        except LocalProtocolError:  # pragma: no cover - must not match
            pytest.fail("a remote error is not a local one")
