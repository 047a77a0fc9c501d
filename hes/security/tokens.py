"""JWT access and refresh tokens (HS256, signed with the configured or generated secret)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import jwt

from hes.db.enums import Role
from hes.errors import AuthenticationFailed

_ALGORITHM = "HS256"
_ISSUER = "hes-core"


class TokenKind(StrEnum):
    """Access tokens call the API; refresh tokens only buy new access tokens."""

    ACCESS = "access"
    REFRESH = "refresh"


@dataclass(frozen=True)
class TokenClaims:
    """What a verified token says about its bearer."""

    user_id: int
    username: str
    role: Role
    kind: TokenKind
    version: int
    expires_at: datetime


def issue_token(claims: TokenClaims, secret: str) -> str:
    """Sign `claims` into a compact JWT."""
    payload = {
        "sub": str(claims.user_id),
        "name": claims.username,
        "role": claims.role.value,
        "kind": claims.kind.value,
        "ver": claims.version,
        "iss": _ISSUER,
        "iat": datetime.now(UTC),
        "exp": claims.expires_at,
    }
    return jwt.encode(payload, secret, algorithm=_ALGORITHM)


def new_claims(
    user_id: int, username: str, role: Role, version: int, kind: TokenKind, lifetime: timedelta
) -> TokenClaims:
    """Claims for a token of `kind` that expires after `lifetime`."""
    return TokenClaims(user_id, username, role, kind, version, datetime.now(UTC) + lifetime)


def verify_token(token: str, secret: str, kind: TokenKind) -> TokenClaims:
    """Check signature, expiry, issuer and kind.

    Raises:
        AuthenticationFailed: forged, expired, malformed or of the wrong kind.
    """
    try:
        payload = jwt.decode(
            token, secret, algorithms=[_ALGORITHM], issuer=_ISSUER, options={"require": ["exp", "sub"]}
        )
        claims = TokenClaims(
            user_id=int(payload["sub"]),
            username=str(payload["name"]),
            role=Role(payload["role"]),
            kind=TokenKind(payload["kind"]),
            version=int(payload["ver"]),
            expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
        )
    except jwt.ExpiredSignatureError as error:
        raise AuthenticationFailed("token expired") from error
    except (jwt.InvalidTokenError, KeyError, ValueError, TypeError) as error:
        raise AuthenticationFailed("invalid token") from error
    if claims.kind is not kind:
        raise AuthenticationFailed(f"a {claims.kind} token cannot be used here")
    return claims
