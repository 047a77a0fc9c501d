"""Device tokens and `meter-update` payloads, checked against the database without a socket."""

from __future__ import annotations

import pytest

from hes.errors import AuthenticationFailed, InvalidInput
from hes.ingest.intake import SenderScope
from hes.realtime.device import MAX_READINGS_PER_UPDATE, grant_for, readings_from_update
from hes.runtime import Runtime
from tests.realtime.conftest import Fleet


@pytest.mark.parametrize("token", [None, "", 5, b"bytes"])
async def test_a_missing_or_non_text_token_is_refused(runtime: Runtime, token: object) -> None:
    async with runtime.sessions() as session:
        with pytest.raises(AuthenticationFailed, match="missing device token"):
            await grant_for(session, token)


async def test_values_beyond_a_double_are_rejected_not_raised(runtime: Runtime, fleet: Fleet) -> None:
    scope = SenderScope(meter_id=fleet.region_meter.id)
    reading = {"meterNumber": "M-REG", "obis": "1-0:1.8.0.255", "timestamp": "2024-05-01T00:00:00Z"}
    async with runtime.sessions() as session:
        update = await readings_from_update(
            session, scope, {"readings": [{**reading, "value": 10**400}, {**reading, "value": 7}]}
        )
    assert ([r.value for r in update.readings], update.positions) == ([7.0], [1])
    assert [(r.index, r.reason) for r in update.rejected] == [(0, "value is out of range")]


async def test_too_many_readings_in_one_update_are_refused(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        with pytest.raises(InvalidInput, match="too many"):
            await readings_from_update(
                session, SenderScope(meter_id=1), {"readings": [{}] * (MAX_READINGS_PER_UPDATE + 1)}
            )


async def test_a_token_for_neither_a_meter_nor_a_concentrator_covers_nothing(runtime: Runtime, fleet: Fleet) -> None:
    reading = {"meterNumber": "M-REG", "obis": "1-0:1.8.0.255", "timestamp": "2024-05-01T00:00:00Z", "value": 1}
    async with runtime.sessions() as session:
        update = await readings_from_update(session, SenderScope(), {"readings": [reading]})
    assert update.readings == [] and len(update.rejected) == 1
