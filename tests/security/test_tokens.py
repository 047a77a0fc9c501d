"""JWT access and refresh tokens: round trip, expiry, forgery, kind, garbage."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from hes.db.enums import Role
from hes.errors import AuthenticationFailed
from hes.security.tokens import TokenKind, issue_token, new_claims, verify_token

SECRET = secrets.token_hex(32)


def _claims(kind: TokenKind = TokenKind.ACCESS, lifetime: timedelta = timedelta(minutes=15)):  # type: ignore[no-untyped-def]
    return new_claims(42, "ada", Role.OPERATOR, 3, kind, lifetime)


def test_round_trip_keeps_every_claim() -> None:
    claims = _claims()
    verified = verify_token(issue_token(claims, SECRET), SECRET, TokenKind.ACCESS)
    assert (verified.user_id, verified.username, verified.role, verified.kind, verified.version) == (
        42,
        "ada",
        Role.OPERATOR,
        TokenKind.ACCESS,
        3,
    )
    assert abs(verified.expires_at - claims.expires_at) < timedelta(seconds=1)
    assert verified.expires_at.tzinfo is not None


def test_an_expired_token_is_refused() -> None:
    token = issue_token(_claims(lifetime=timedelta(seconds=-1)), SECRET)
    with pytest.raises(AuthenticationFailed, match="expired"):
        verify_token(token, SECRET, TokenKind.ACCESS)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token = issue_token(_claims(), secrets.token_hex(32))
    with pytest.raises(AuthenticationFailed, match="invalid"):
        verify_token(token, SECRET, TokenKind.ACCESS)


def test_a_token_of_the_wrong_kind_is_refused() -> None:
    refresh = issue_token(_claims(TokenKind.REFRESH), SECRET)
    with pytest.raises(AuthenticationFailed, match="refresh token cannot be used"):
        verify_token(refresh, SECRET, TokenKind.ACCESS)
    access = issue_token(_claims(TokenKind.ACCESS), SECRET)
    with pytest.raises(AuthenticationFailed):
        verify_token(access, SECRET, TokenKind.REFRESH)
    assert verify_token(refresh, SECRET, TokenKind.REFRESH).kind is TokenKind.REFRESH


def _signed(payload: dict[str, object], secret: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, secret, algorithm=algorithm)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "a.b.c",
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.",  # alg "none"
        _signed({"sub": "1", "exp": datetime.now(UTC) + timedelta(minutes=5)}),  # no issuer, kind, role
        _signed(
            {
                "sub": "x",
                "name": "ada",
                "role": "admin",
                "kind": "access",
                "ver": 0,
                "iss": "hes-core",
                "exp": datetime.now(UTC) + timedelta(minutes=5),
            }
        ),  # non-numeric subject
        _signed(
            {
                "sub": "1",
                "name": "ada",
                "role": "root",
                "kind": "access",
                "ver": 0,
                "iss": "hes-core",
                "exp": datetime.now(UTC) + timedelta(minutes=5),
            }
        ),  # unknown role
        _signed(
            {
                "sub": "1",
                "name": "ada",
                "role": "admin",
                "kind": "access",
                "ver": 0,
                "iss": "someone-else",
                "exp": datetime.now(UTC) + timedelta(minutes=5),
            }
        ),  # another issuer
        _signed(
            {"sub": "1", "name": "ada", "role": "admin", "kind": "access", "ver": 0, "iss": "hes-core"}
        ),  # no expiry
    ],
)
def test_garbage_and_incomplete_tokens_are_refused(token: str) -> None:
    with pytest.raises(AuthenticationFailed):
        verify_token(token, SECRET, TokenKind.ACCESS)


def test_a_token_cannot_switch_algorithm() -> None:
    claims = {
        "sub": "1",
        "name": "ada",
        "role": "admin",
        "kind": "access",
        "ver": 0,
        "iss": "hes-core",
        "exp": datetime.now(UTC) + timedelta(minutes=5),
    }
    with pytest.raises(AuthenticationFailed):
        verify_token(_signed(claims, algorithm="HS512", secret=SECRET), SECRET, TokenKind.ACCESS)
