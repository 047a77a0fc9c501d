"""Registering the demo fleet: imported once with area, mode, address and sealed DLMS secrets; reused on a restart,
with only what moved changed; refused whole when the import refuses a row."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select

from hes.db.enums import ConnectionMode
from hes.db.tables import AuditEntry, Meter
from hes.demo import load_sample_fleet
from hes.demo.fleet_plan import DemoFleetPlan, plan_fleet
from hes.demo.registration import register_fleet
from hes.errors import InvalidInput
from hes.runtime import Runtime
from hes.simulator.server import Endpoint

LISTENING = (ConnectionMode.OUTBOUND, ConnectionMode.PUSH)


def endpoints_of(plan: DemoFleetPlan) -> dict[str, Endpoint]:
    """Where the plan's listening meters would listen (its pinned ports): registering needs no running meter."""
    return {m.meter_number: Endpoint(m.spec.host, m.spec.port) for m in plan.meters if m.mode in LISTENING}


async def audit_rows(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


async def test_meters_are_registered_as_a_user_would_see_them(
    runtime: Runtime, client: AsyncClient, admin: Mapping[str, str]
) -> None:
    await load_sample_fleet(runtime.sessions)
    plan = plan_fleet(12, base_port=43_000)

    registration = await register_fleet(runtime.sessions, runtime.secret_box, plan, endpoints_of(plan))

    assert (registration.added, registration.updated, registration.unchanged) == (12, 0, 0)
    for meter in plan.meters:
        answer = await client.get(f"/api/meters/{registration.ids[meter.meter_number]}", headers=admin)
        assert answer.status_code == 200, answer.text
        shown, spec = answer.json(), meter.spec
        assert shown["connectionMode"] == meter.mode.value
        assert shown["area"]["code"] == meter.area
        assert shown["brand"] == spec.brand_info.name
        assert shown["status"] == "installed"
        listening = meter.mode in LISTENING
        assert (shown["ipAddress"], shown["port"]) == (("127.0.0.1", spec.port) if listening else (None, None))
        dlms = shown["dlms"]
        assert dlms["transport"] == spec.transport.value
        assert dlms["authentication"] == spec.authentication.value
        assert dlms["clientAddress"] == spec.client_sap
        assert dlms["systemTitle"] == spec.system_title.hex().upper()
        assert dlms["hasPassword"] is (spec.lls_password is not None)
        assert dlms["hasAuthenticationKey"] is dlms["hasBlockCipherKey"] is (spec.authentication_key is not None)


async def test_secrets_are_stored_sealed(runtime: Runtime) -> None:
    await load_sample_fleet(runtime.sessions)
    plan = plan_fleet(12, base_port=43_000)
    registration = await register_fleet(runtime.sessions, runtime.secret_box, plan, endpoints_of(plan))

    for meter in plan.meters:
        async with runtime.sessions() as session:
            row = await session.get(Meter, registration.ids[meter.meter_number])
        assert row is not None
        for secret, sealed in (
            (meter.spec.lls_password, row.dlms_password_enc),
            (meter.spec.encryption_key, row.dlms_block_cipher_key_enc),
            (meter.spec.authentication_key, row.dlms_authentication_key_enc),
        ):
            assert (sealed is None) is (secret is None)
            if secret is not None and sealed is not None:
                assert secret not in sealed
                assert runtime.secret_box.open(sealed) == secret


async def test_a_second_start_reuses_the_meters_and_changes_only_what_moved(runtime: Runtime) -> None:
    await load_sample_fleet(runtime.sessions)
    plan = plan_fleet(12, base_port=43_000)
    first = await register_fleet(runtime.sessions, runtime.secret_box, plan, endpoints_of(plan))
    audited = await audit_rows(runtime)

    again = await register_fleet(runtime.sessions, runtime.secret_box, plan, endpoints_of(plan))

    assert (again.added, again.updated, again.unchanged) == (0, 0, 12)
    assert again.ids == first.ids
    assert await audit_rows(runtime) == audited  # nothing changed, nothing audited

    moved = plan_fleet(12, base_port=43_100)
    after_move = await register_fleet(runtime.sessions, runtime.secret_box, moved, endpoints_of(moved))

    listening = [meter for meter in moved.meters if meter.mode in LISTENING]
    assert (after_move.added, after_move.updated) == (0, len(listening))
    async with runtime.sessions() as session:
        ports = dict((await session.execute(select(Meter.meter_number, Meter.port))).tuples().all())
    assert all(ports[meter.meter_number] == meter.spec.port for meter in listening)
    assert all(meter.spec.port >= 43_100 for meter in listening)


async def test_a_refused_import_registers_nothing(runtime: Runtime) -> None:
    plan = plan_fleet(12, base_port=43_000)  # no sample fleet: the areas the plan names do not exist

    with pytest.raises(InvalidInput) as refused:
        await register_fleet(runtime.sessions, runtime.secret_box, plan, endpoints_of(plan))

    assert {problem.field for problem in refused.value.problems} == {"area"}
    async with runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Meter)) == 0
