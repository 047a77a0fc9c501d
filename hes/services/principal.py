"""Who is calling, and which meters, customers and areas that caller may see."""

from __future__ import annotations

from dataclasses import dataclass

from hes.db.enums import Role
from hes.errors import PermissionDenied

STAFF_ROLES = frozenset({Role.ADMIN, Role.OPERATOR, Role.VIEWER})
WRITER_ROLES = frozenset({Role.ADMIN, Role.OPERATOR})


@dataclass(frozen=True)
class Principal:
    """An authenticated user as the services see it."""

    user_id: int
    username: str
    role: Role
    customer_id: int | None = None
    # Empty: every area. Otherwise the areas this user is limited to.
    area_ids: frozenset[int] = frozenset()

    @property
    def is_customer(self) -> bool:
        """True for a customer, who sees only their own account."""
        return self.role is Role.CUSTOMER

    def may_see_area(self, area_id: int | None) -> bool:
        """True when records in `area_id` are visible to this principal."""
        return not self.area_ids or area_id in self.area_ids

    def require_area(self, area_id: int | None) -> None:
        """Refuse writing into an area outside the principal's areas.

        Raises:
            PermissionDenied: the area is outside the caller's areas.
        """
        if not self.may_see_area(area_id):
            raise PermissionDenied("that area is outside the areas you are assigned to")
