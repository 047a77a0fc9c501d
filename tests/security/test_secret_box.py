"""Secrets at rest: Fernet round trip, and a clear error with the wrong key or altered data."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from hes.security.secret_box import SecretBox


def test_round_trip() -> None:
    box = SecretBox(Fernet.generate_key().decode())
    key = bytes(range(16))
    sealed = box.seal(key)
    assert key not in sealed
    assert box.open(sealed) == key
    assert box.seal(key) != sealed  # a fresh IV every time


def test_the_wrong_key_is_a_value_error() -> None:
    sealed = SecretBox(Fernet.generate_key().decode()).seal(b"meter password")
    with pytest.raises(ValueError, match="HES_DATA_KEY"):
        SecretBox(Fernet.generate_key().decode()).open(sealed)


def test_altered_data_is_a_value_error() -> None:
    box = SecretBox(Fernet.generate_key().decode())
    sealed = bytearray(box.seal(b"meter password"))
    sealed[-5] ^= 0x01
    with pytest.raises(ValueError):
        box.open(bytes(sealed))
    with pytest.raises(ValueError):
        box.open(b"not a token")


def test_a_malformed_data_key_is_refused() -> None:
    with pytest.raises(ValueError):
        SecretBox("changethis")
