"""Wire schemas of user accounts (never carrying a password hash)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from hes import validation
from hes.api.schemas.common import CamelModel, InputModel, UpdateModel
from hes.api.schemas.fields import RecordId
from hes.db.enums import Role
from hes.security.passwords import MIN_PASSWORD_LENGTH
from hes.services.users import USERNAME_PATTERN, PasswordOutcome, UserDetails

Username = Annotated[str, StringConstraints(min_length=3, max_length=64, pattern=USERNAME_PATTERN)]
Password = Annotated[str, StringConstraints(min_length=MIN_PASSWORD_LENGTH, max_length=256)]
FullName = Annotated[str, StringConstraints(min_length=1, max_length=120)]
Email = Annotated[str, StringConstraints(max_length=254), AfterValidator(validation.email)]
AreaIds = Annotated[list[RecordId], Field(max_length=1000)]


class UserCreate(InputModel):
    """A new account; without `password` one is generated and answered once."""

    username: Username
    role: Role
    password: Password | None = None
    full_name: FullName | None = None
    email: Email | None = None
    customer_id: RecordId | None = None
    area_ids: AreaIds = Field(default_factory=list, description="Areas the user is limited to; empty: every area")


class UserUpdate(UpdateModel):
    """Changes to an account; omitted fields stay as they are."""

    required_fields = ("role", "is_active", "area_ids")

    role: Role | None = None
    full_name: FullName | None = None
    email: Email | None = None
    is_active: bool | None = None
    area_ids: AreaIds | None = None
    customer_id: RecordId | None = None


class PasswordSet(InputModel):
    """A new password for an account; omitted or null: one is generated and answered once."""

    password: Password | None = None


class OwnPasswordChange(InputModel):
    """The signed-in user's current password and the one replacing it."""

    current_password: str = Field(min_length=1, max_length=256)
    new_password: Password


class UserOut(CamelModel):
    """An account as the API shows it."""

    id: int
    username: str
    role: Role
    full_name: str | None
    email: str | None
    customer_id: int | None
    is_active: bool
    area_ids: list[int]
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, details: UserDetails) -> UserOut:
        """The wire form of an account and its area limits."""
        user = details.user
        return cls(
            id=user.id,
            username=user.username,
            role=user.role,
            full_name=user.full_name,
            email=user.email,
            customer_id=user.customer_id,
            is_active=user.is_active,
            area_ids=sorted(details.area_ids),
            last_login_at=user.last_login_at,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )


class UserWithPassword(UserOut):
    """An account just created or given a new password; `generatedPassword` is shown this once, never again."""

    generated_password: str | None = None

    @classmethod
    def of_outcome(cls, outcome: PasswordOutcome) -> UserWithPassword:
        """The wire form of an account and the password generated for it, if any."""
        shown = UserOut.of(outcome.details).model_dump()
        return cls(**shown, generated_password=outcome.generated_password)
