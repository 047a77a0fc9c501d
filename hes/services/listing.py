"""Pagination shared by every list endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

ItemT = TypeVar("ItemT")


@dataclass(frozen=True)
class Pagination:
    """Which page of a list, counted from 1."""

    page: int = 1
    limit: int = 50

    @property
    def offset(self) -> int:
        """Rows to skip before this page."""
        return (self.page - 1) * self.limit


@dataclass(frozen=True)
class Listing(Generic[ItemT]):
    """One page of records plus the number of all matching records."""

    items: list[ItemT]
    total: int
    pagination: Pagination
