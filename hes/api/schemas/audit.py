"""Wire schemas of the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hes.api.schemas.common import CamelModel


class AuditEntryOut(CamelModel):
    """One change: who made it, when, to what."""

    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str | None
    details: dict[str, Any] | None
