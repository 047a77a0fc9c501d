"""The daily alert clean-up: resolved alerts past the retention go, open and acknowledged ones stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hes.db.enums import AlertStatus, Severity
from hes.db.tables import Alert, Meter
from hes.runtime import Runtime
from hes.services.alerts import delete_resolved_alerts_older_than

NOW = datetime(2024, 9, 1, tzinfo=UTC)


async def test_only_alerts_resolved_before_the_retention_are_deleted(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        meter = Meter(meter_number="MTR-1")
        session.add(meter)
        await session.flush()
        old = NOW - timedelta(days=100)
        for alert_type, status, resolved_at in (
            ("old_resolved", AlertStatus.RESOLVED, old),
            ("recent_resolved", AlertStatus.RESOLVED, NOW - timedelta(days=89)),
            ("old_open", AlertStatus.OPEN, None),
            ("old_acknowledged", AlertStatus.ACKNOWLEDGED, None),
        ):
            session.add(
                Alert(
                    meter_id=meter.id,
                    alert_type=alert_type,
                    severity=Severity.WARNING,
                    status=status,
                    message=alert_type,
                    first_seen_at=old,
                    last_seen_at=old,
                    resolved_at=resolved_at,
                )
            )
        await session.commit()

        assert await delete_resolved_alerts_older_than(session, 90, now=NOW) == 1
        assert await delete_resolved_alerts_older_than(session, 90, now=NOW) == 0
        kept = sorted(alert.alert_type for alert in await session.scalars(select(Alert)))
        assert kept == ["old_acknowledged", "old_open", "recent_resolved"]
        with pytest.raises(ValueError):
            await delete_resolved_alerts_older_than(session, 0)
