"""The HES error hierarchy; services raise these and `hes.api.errors` turns them into HTTP answers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: where (field, or CSV row and column) and why."""

    message: str
    field: str | None = None
    row: int | None = None

    def as_wire(self) -> dict[str, object]:
        """The problem as it appears in an error answer's `details`."""
        wire: dict[str, object] = {"message": self.message}
        if self.row is not None:
            wire["row"] = self.row
        if self.field is not None:
            wire["field"] = self.field
        return wire


@dataclass(eq=False)
class HESError(Exception):
    """Base of every error a service raises on purpose."""

    message: str
    problems: Sequence[Problem] = field(default_factory=tuple)
    code: str = "error"

    def __str__(self) -> str:
        return self.message


class NotFound(HESError):
    """The addressed record does not exist, or the caller may not see it."""

    def __init__(self, what: str, key: object) -> None:
        super().__init__(f"{what} {key} not found", code="not_found")


class Conflict(HESError):
    """The request contradicts what is stored (duplicate key, record in use)."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message, problems, code="conflict")


class InvalidInput(HESError):
    """The request is well-formed but its content is wrong; `problems` lists every fault."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message, problems, code="invalid_input")


class AuthenticationFailed(HESError):
    """Missing, wrong, expired or forged credentials."""

    def __init__(self, message: str = "authentication required") -> None:
        super().__init__(message, code="unauthorized")


class PermissionDenied(HESError):
    """Authenticated, but the caller's role may not do this."""

    def __init__(self, message: str = "your role may not do this") -> None:
        super().__init__(message, code="forbidden")


class TooManyRequests(HESError):
    """A rate limit was hit; retry later."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="rate_limited")
