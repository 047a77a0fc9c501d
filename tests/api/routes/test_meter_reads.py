"""POST /api/meters/{id}/read end to end: the app, a running Connectivity and simulated meters over real TCP.

Answers: the values (also stored), 422 for bad codes, 404 unknown or hidden meters, 409 without a DLMS channel or
decommissioned, 502 when the meter refuses, 504 when it does not answer, 503 without connectivity; operator+."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from hes.db.enums import ConnectionMode, MeterStatus, Role
from hes.db.tables import Area
from hes.runtime import Runtime
from hes.services import users
from hes.simulator.faults import Fault, FaultKind
from hes.simulator.fleet import Authentication, MeterGroup, Transport, build_fleet
from hes.simulator.server import run_fleet
from tests.conftest import PASSWORD, UserFactory
from tests.connectivity.fleet import (
    TEST_BOUND,
    endpoints_of,
    meter_row,
    readings_of,
    register,
    running,
    settings,
    settle,
)

ENERGY, VOLTAGE, LOAD_PROFILE = "1-0:1.8.0.255", "1-0:32.7.0.255", "1-0:99.1.0.255"
# Meter 0 healthy (idis), 1 never answers, 2 refuses the LLS password, 3 healthy Hexcell.
_GROUPS = [
    MeterGroup(1, "idis", Transport.WRAPPER, Authentication.NONE),
    MeterGroup(1, "idis", Transport.WRAPPER, Authentication.NONE, (Fault(FaultKind.NO_ANSWER),)),
    MeterGroup(1, "idis", Transport.WRAPPER, Authentication.LLS, (Fault(FaultKind.WRONG_SECRET),)),
    MeterGroup(1, "hexcell", Transport.WRAPPER, Authentication.NONE),
]


@pytest.fixture
async def fleet_ids(app: FastAPI, runtime: Runtime) -> AsyncIterator[list[int]]:
    """The simulated meters on record, a Connectivity running in the app; meter ids in _GROUPS order."""
    fleet = build_fleet(_GROUPS, seed=21, base_port=0)
    async with asyncio.timeout(TEST_BOUND), run_fleet(fleet) as server:
        ids = await register(runtime, fleet, endpoints_of(server))
        async with running(runtime, settings(response_timeout=2.0, read_timeout=8.0)) as connectivity:
            app.state.connectivity = connectivity
            try:
                yield [ids[meter.meter_number] for meter in fleet.meters]
            finally:
                app.state.connectivity = None


async def _read(client: AsyncClient, headers: dict[str, str], meter_id: int, body: Any = None) -> Any:
    if body is None:
        return await client.post(f"/api/meters/{meter_id}/read", headers=headers)
    return await client.post(f"/api/meters/{meter_id}/read", headers=headers, json=body)


async def test_an_operator_reads_the_main_registers_and_they_are_stored(
    app: FastAPI, client: AsyncClient, operator: dict[str, str], runtime: Runtime, fleet_ids: list[int]
) -> None:
    answer = await _read(client, operator, fleet_ids[0])
    assert answer.status_code == 200, answer.text
    values = {item["obis"]: item for item in answer.json()}
    assert {ENERGY, VOLTAGE, "1-0:14.7.0.255", "1-0:13.7.0.255", "1-0:1.8.1.255"} <= set(values)
    energy, voltage = values[ENERGY], values[VOLTAGE]
    assert set(energy) == {"obis", "value", "unit", "timestamp", "quality"}
    assert energy["unit"] == "Wh" and energy["quality"] == "good" and energy["timestamp"].endswith("Z")
    assert voltage["unit"] == "V" and 150 < voltage["value"] < 300  # scaled
    stored = await readings_of(runtime, fleet_ids[0], ENERGY)
    assert [value for _, _, value in stored] == [energy["value"]]
    await settle(app.state.connectivity)  # the session's outcome is written once it released
    assert (await meter_row(runtime, fleet_ids[0])).last_success_at is not None


async def test_chosen_codes_are_read_alone(client: AsyncClient, admin: dict[str, str], fleet_ids: list[int]) -> None:
    answer = await _read(client, admin, fleet_ids[3], {"obis": ["1-0:91.7.0.255", "1.0.1.8.0.255", ENERGY]})
    assert answer.status_code == 200, answer.text
    assert [item["obis"] for item in answer.json()] == ["1-0:91.7.0.255", ENERGY]  # spellings of one code merged
    assert answer.json()[0]["unit"] == "A"


async def test_malformed_unknown_or_non_register_codes_are_all_listed(
    client: AsyncClient, operator: dict[str, str], fleet_ids: list[int]
) -> None:
    malformed = await _read(client, operator, fleet_ids[0], {"obis": ["1-0:1.8.0.255", "nonsense"]})
    assert malformed.status_code == 422 and malformed.json()["error"]["code"] == "invalid_input"
    assert "obis" in malformed.json()["error"]["details"][0]["field"]
    answer = await _read(client, operator, fleet_ids[0], {"obis": ["1-0:91.7.0.255", ENERGY, LOAD_PROFILE]})
    assert answer.status_code == 422
    fields = {problem["field"]: problem["message"] for problem in answer.json()["error"]["details"]}
    assert set(fields) == {"obis.0", "obis.2"}  # Hexcell's neutral current is not an IDIS object; a profile
    assert "not a register" in fields["obis.2"]
    unknown_field = await _read(client, operator, fleet_ids[0], {"codes": [ENERGY]})
    assert unknown_field.status_code == 422


async def test_unknown_and_hidden_meters_are_not_found_and_viewers_may_not_read(
    client: AsyncClient, login_as: UserFactory, runtime: Runtime, fleet_ids: list[int]
) -> None:
    operator = await login_as(Role.OPERATOR)
    assert (await _read(client, operator, 999_999)).status_code == 404
    viewer = await login_as(Role.VIEWER)
    assert (await _read(client, viewer, fleet_ids[0])).status_code == 403
    async with runtime.sessions() as session:
        area = Area(code="SOUTH", name="South")
        session.add(area)
        await session.flush()
        await users.create_user(
            session, "test", users.NewUser("south-op", PASSWORD, Role.OPERATOR, area_ids=frozenset({area.id}))
        )
    login = await client.post("/api/auth/login", json={"username": "south-op", "password": PASSWORD})
    limited = {"Authorization": f"Bearer {login.json()['accessToken']}"}
    hidden = await _read(client, limited, fleet_ids[0])  # the meter is in no area: outside the operator's
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "not_found"


async def test_meters_without_a_dlms_channel_or_decommissioned_are_a_conflict(
    client: AsyncClient, operator: dict[str, str], runtime: Runtime, fleet_ids: list[int]
) -> None:
    for change in ({"connection_mode": ConnectionMode.MQTT}, {"status": MeterStatus.DECOMMISSIONED}):
        async with runtime.sessions() as session:
            meter = await session.merge(await meter_row(runtime, fleet_ids[3]))
            for name, value in change.items():
                setattr(meter, name, value)
            await session.commit()
        answer = await _read(client, operator, fleet_ids[3])
        assert answer.status_code == 409, answer.text
        assert answer.json()["error"]["code"] == "conflict"


async def test_a_meter_that_does_not_answer_is_504_and_one_that_refuses_is_502(
    client: AsyncClient, operator: dict[str, str], runtime: Runtime, fleet_ids: list[int]
) -> None:
    silent = await _read(client, operator, fleet_ids[1])
    assert silent.status_code == 504, silent.text
    assert silent.json()["error"]["code"] == "meter_timeout" and "DlmsTimeout" in silent.text
    refusing = await _read(client, operator, fleet_ids[2])
    assert refusing.status_code == 502, refusing.text
    assert refusing.json()["error"]["code"] == "meter_refused" and "AssociationRejected" in refusing.text
    # The process goes on serving: the healthy meter answers right after.
    assert (await _read(client, operator, fleet_ids[0])).status_code == 200


async def test_without_connectivity_the_read_is_503(
    app: FastAPI, client: AsyncClient, operator: dict[str, str], runtime: Runtime
) -> None:
    fleet = build_fleet(_GROUPS[:1], seed=22, base_port=0)
    (meter_id,) = (await register(runtime, fleet, {fleet.meters[0].meter_number: ("127.0.0.1", 9)})).values()
    app.state.connectivity = None
    answer = await _read(client, operator, meter_id)
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "connectivity_unavailable"
