"""The online-rate report: meters in service per area, meters without an area, the total row."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hes.db.enums import MeterStatus, Role
from hes.db.tables import Area, Meter
from hes.errors import NotFound
from hes.runtime import Runtime
from hes.services import reports
from hes.services.principal import Principal

EVERYONE = Principal(user_id=1, username="staff", role=Role.VIEWER)


async def test_meters_without_an_area_get_their_own_row_and_count_in_the_total(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        area = Area(code="A", name="A")
        session.add(area)
        await session.flush()
        seen = datetime(2025, 3, 3, tzinfo=UTC)
        session.add_all(
            [
                Meter(meter_number="A-1", area_id=area.id, status=MeterStatus.ONLINE, last_seen_at=seen),
                Meter(meter_number="A-2", area_id=area.id, status=MeterStatus.FAULTY, last_seen_at=seen),
                Meter(meter_number="A-3", area_id=area.id, status=MeterStatus.DECOMMISSIONED),
                Meter(meter_number="N-1", status=MeterStatus.INSTALLED),
            ]
        )
        await session.commit()
        rows = await reports.online_rate(session, EVERYONE)
        limited = Principal(user_id=2, username="a", role=Role.VIEWER, area_ids=frozenset({area.id}))
        only_a = await reports.online_rate(session, limited)
        with pytest.raises(NotFound):
            await reports.online_rate(session, EVERYONE, "nowhere")
    assert [(r.area_code, r.total, r.never_online, r.online, r.offline, r.online_rate) for r in rows] == [
        ("A", 2, 0, 1, 0, 0.5),
        (None, 1, 1, 0, 0, 0.0),
        (reports.TOTAL, 3, 1, 1, 0, 1 / 3),
    ]
    assert [row.area_code for row in only_a] == ["A", reports.TOTAL]
