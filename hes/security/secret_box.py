"""Encryption of secrets kept in the database (meter passwords and keys), with Fernet."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken


class SecretBox:
    """Encrypts and decrypts small secrets with the data key (HES_DATA_KEY)."""

    def __init__(self, data_key: str) -> None:
        self._fernet = Fernet(data_key.encode())

    def seal(self, secret: bytes) -> bytes:
        """The encrypted, authenticated form of `secret`."""
        return self._fernet.encrypt(secret)

    def open(self, sealed: bytes) -> bytes:
        """The secret inside `sealed`.

        Raises:
            ValueError: sealed with another key, or altered.
        """
        try:
            return self._fernet.decrypt(sealed)
        except InvalidToken as error:
            raise ValueError("secret cannot be decrypted with the configured HES_DATA_KEY") from error
