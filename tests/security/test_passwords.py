"""Password hashing: argon2id, salted per call, constant work for unknown users."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from hes.security import passwords
from hes.security.passwords import MIN_PASSWORD_LENGTH, generate_password, hash_password, verify_password


def test_a_hash_verifies_and_differs_per_call() -> None:
    first = hash_password("correct-horse-battery")
    second = hash_password("correct-horse-battery")
    assert first.startswith("$argon2id$")
    assert first != second  # a fresh salt every time
    assert verify_password(first, "correct-horse-battery")
    assert verify_password(second, "correct-horse-battery")
    assert "correct-horse-battery" not in first


@pytest.mark.parametrize("attempt", ["correct-horse-batter", "Correct-horse-battery", "", "correct-horse-battery "])
def test_a_wrong_password_is_false(attempt: str) -> None:
    assert verify_password(hash_password("correct-horse-battery"), attempt) is False


@pytest.mark.parametrize("stored", ["", "not-a-hash", "$argon2id$v=19$m=1,t=1,p=1$garbage"])
def test_a_damaged_hash_is_false_not_an_error(stored: str) -> None:
    assert verify_password(stored, "anything") is False


def test_unknown_user_costs_a_hash_check(monkeypatch: pytest.MonkeyPatch) -> None:
    # Spy on the hasher (argon2-cffi, not our code): the unknown-user path must do the same work.
    checked: list[str] = []
    real_verify = PasswordHasher.verify
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher())  # production parameters (conftest uses cheap ones)

    def counting_verify(self: PasswordHasher, stored: str, password: str) -> bool:
        checked.append(stored)
        return real_verify(self, stored, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)
    assert verify_password(None, "correct-horse-battery") is False
    assert len(checked) == 1 and checked[0].startswith("$argon2id$")
    assert verify_password(hash_password("x" * 12), "y" * 12) is False
    assert len(checked) == 2
    # The stand-in hash is as expensive as a real one: same parameters.
    assert checked[0].split("$")[3] == checked[1].split("$")[3]
    assert checked[0] == passwords._DUMMY_HASH


def test_generated_passwords_are_long_enough_and_unique() -> None:
    made = {generate_password() for _ in range(50)}
    assert len(made) == 50
    assert all(len(password) >= MIN_PASSWORD_LENGTH for password in made)
    sample = next(iter(made))
    assert verify_password(hash_password(sample), sample)
