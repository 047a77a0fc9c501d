"""Signing in: login, token refresh, and turning a bearer token into a Principal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from hes.config import Settings
from hes.db.store import audit, users
from hes.db.tables import User, utc_now
from hes.errors import AuthenticationFailed
from hes.security.passwords import verify_password
from hes.security.tokens import TokenKind, issue_token, new_claims, verify_token
from hes.services.areas import areas_with_descendants
from hes.services.principal import Principal


@dataclass(frozen=True)
class TokenPair:
    """What a successful login or refresh answers."""

    access_token: str
    refresh_token: str
    expires_in: int
    user: User


async def login(session: AsyncSession, settings: Settings, username: str, password: str) -> TokenPair:
    """Check a username and password and issue tokens.

    Raises:
        AuthenticationFailed: unknown user, wrong password or disabled account (one message for all).
    """
    user = await users.by_username(session, username)
    valid = verify_password(user.password_hash if user else None, password)
    if user is None or not valid or not user.is_active:
        raise AuthenticationFailed("wrong username or password")
    user.last_login_at = utc_now()
    audit.record(session, user.username, "login", "user", user.id)
    await session.commit()
    return issue_pair(user, settings)


async def refresh(session: AsyncSession, settings: Settings, refresh_token: str) -> TokenPair:
    """Trade a valid refresh token for a new pair.

    Raises:
        AuthenticationFailed: the token is invalid, or the account was disabled or its password changed.
    """
    claims = verify_token(refresh_token, settings.resolved_jwt_secret, TokenKind.REFRESH)
    user = await users.by_id(session, claims.user_id)
    if user is None or not user.is_active or user.token_version != claims.version:
        raise AuthenticationFailed("refresh token revoked")
    return issue_pair(user, settings)


async def principal_for(session: AsyncSession, settings: Settings, access_token: str) -> Principal:
    """The Principal behind an access token, checked against the stored account.

    Raises:
        AuthenticationFailed: invalid token, or the account is gone, disabled or re-keyed.
    """
    claims = verify_token(access_token, settings.resolved_jwt_secret, TokenKind.ACCESS)
    user = await users.by_id(session, claims.user_id)
    if user is None or not user.is_active or user.token_version != claims.version:
        raise AuthenticationFailed("token revoked")
    return Principal(
        user_id=user.id,
        username=user.username,
        role=user.role,
        customer_id=user.customer_id,
        # A user limited to a region sees its districts and feeders too, in every view and room alike.
        area_ids=await areas_with_descendants(session, await users.area_ids(session, user.id)),
    )


def issue_pair(user: User, settings: Settings) -> TokenPair:
    """A fresh access and refresh token for `user` at its current token version."""
    secret = settings.resolved_jwt_secret
    access_lifetime = timedelta(minutes=settings.access_token_minutes)
    access = new_claims(user.id, user.username, user.role, user.token_version, TokenKind.ACCESS, access_lifetime)
    refresh_lifetime = timedelta(days=settings.refresh_token_days)
    refresh_claims = new_claims(
        user.id, user.username, user.role, user.token_version, TokenKind.REFRESH, refresh_lifetime
    )
    return TokenPair(
        access_token=issue_token(access, secret),
        refresh_token=issue_token(refresh_claims, secret),
        expires_in=int(access_lifetime.total_seconds()),
        user=user,
    )
