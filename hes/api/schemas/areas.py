"""Wire schemas of areas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from hes.api.schemas.common import CamelModel, InputModel, UpdateModel
from hes.api.schemas.fields import RecordId

AreaCode = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
AreaName = Annotated[str, StringConstraints(min_length=1, max_length=120)]


class AreaCreate(InputModel):
    """A new area."""

    code: AreaCode
    name: AreaName
    parent_id: RecordId | None = None
    description: str | None = Field(default=None, max_length=500)


class AreaUpdate(UpdateModel):
    """Changes to an area; omitted fields stay as they are."""

    required_fields = ("code", "name")

    code: AreaCode | None = None
    name: AreaName | None = None
    parent_id: RecordId | None = None
    description: str | None = Field(default=None, max_length=500)


class AreaOut(CamelModel):
    """An area as the API shows it."""

    id: int
    code: str
    name: str
    parent_id: int | None
    description: str | None
    created_at: datetime
    updated_at: datetime
