"""Pieces every resource schema shares: camelCase models, the list envelope, the error shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from hes.services.listing import Listing

ItemT = TypeVar("ItemT")
RecordT = TypeVar("RecordT")


class CamelModel(BaseModel):
    """A wire model: camelCase JSON, snake_case Python, built from table rows."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


class InputModel(CamelModel):
    """A request body: unknown fields are refused, so typos are reported instead of ignored."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", str_strip_whitespace=True
    )

    @field_validator("*", mode="after")
    @classmethod
    def _refuse_nul(cls, value: object) -> object:
        # PostgreSQL text cannot hold NUL; refusing it here keeps it from ever reaching a query.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class UpdateModel(InputModel):
    """A partial update: omitted fields stay; `required_fields` may be omitted but never set to null."""

    required_fields: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _refuse_null_for_required(self) -> Self:
        nulled = [
            to_camel(name)
            for name in self.required_fields
            if name in self.model_fields_set and getattr(self, name) is None
        ]
        if nulled:
            raise ValueError(f"cannot be null: {', '.join(nulled)}")
        return self


class Page(CamelModel, Generic[ItemT]):
    """One page of a list, with the total number of matching records."""

    items: list[ItemT]
    total: int
    page: int
    limit: int


def page_of(listing: Listing[RecordT], to_wire: Callable[[RecordT], ItemT]) -> Page[ItemT]:
    """A service's Listing as the wire's Page envelope, each record shaped by `to_wire`."""
    return Page[ItemT](
        items=[to_wire(record) for record in listing.items],
        total=listing.total,
        page=listing.pagination.page,
        limit=listing.pagination.limit,
    )


class ErrorBody(BaseModel):
    """What went wrong: a stable code, a sentence, and every problem found."""

    code: str
    message: str
    details: list[dict[str, object]] = Field(default_factory=list)


class ErrorAnswer(BaseModel):
    """The one error shape of HES Core."""

    error: ErrorBody
