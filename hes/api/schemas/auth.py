"""Wire schemas of signing in."""

from __future__ import annotations

from pydantic import Field

from hes.api.schemas.common import CamelModel, InputModel
from hes.db.enums import Role


class LoginRequest(InputModel):
    """Username and password."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class RefreshRequest(InputModel):
    """A refresh token from a previous login."""

    refresh_token: str = Field(min_length=1, max_length=4096)


class UserSummary(CamelModel):
    """The signed-in user, as shown after login."""

    id: int
    username: str
    role: Role
    full_name: str | None
    customer_id: int | None


class TokenAnswer(CamelModel):
    """Tokens: send the access token as `Authorization: Bearer ...`."""

    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int
    user: UserSummary


class MeAnswer(CamelModel):
    """Who the caller is and what they may see."""

    id: int
    username: str
    role: Role
    customer_id: int | None
    area_ids: list[int]
