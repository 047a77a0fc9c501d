"""Registers the demo's simulated meters in HES Core the way a user would, and keeps them current on later starts.

First the meters HES Core does not have yet are imported from a meters CSV file (the import template's columns,
as `hes simulate --csv` writes them, with the area filled in). Then each meter's connection mode, address and DLMS
settings are set through the meters service, with the body `PUT /api/meters/{id}` takes: the DLMS part is the
simulator's secrets file entry as it is (hes.simulator.cli.secrets_document), and the service seals the password
and keys with the data key. On a later start only what differs is changed (a port that moved, a meter whose mode
the plan changed), so the audit log records real changes only; a meter a person took out of service (status
faulty or decommissioned) keeps its status.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hes.api.schemas.meters import MeterUpdate
from hes.db.enums import MeterStatus, Role
from hes.db.store.imports import meters_by_number
from hes.db.tables import Meter
from hes.demo.fleet_plan import DemoFleetPlan
from hes.security.secret_box import SecretBox
from hes.services import meters
from hes.services.imports import ImportEntity, import_csv
from hes.services.meters import MeterFields
from hes.services.principal import Principal
from hes.simulator.cli import METER_COLUMNS, meter_rows, secrets_document
from hes.simulator.server import Endpoint

__all__ = ["DEMO_PRINCIPAL", "Registration", "register_fleet"]

logger = logging.getLogger(__name__)

DEMO_PRINCIPAL = Principal(user_id=0, username="demo", role=Role.ADMIN)
_SECRETS = frozenset({"dlms_password", "dlms_authentication_key", "dlms_block_cipher_key"})


@dataclass(frozen=True)
class Registration:
    """What registering the fleet did, and each meter's id by number."""

    added: int
    updated: int
    unchanged: int
    ids: Mapping[str, int] = field(repr=False)


async def register_fleet(
    sessions: async_sessionmaker[AsyncSession],
    box: SecretBox,
    plan: DemoFleetPlan,
    endpoints: Mapping[str, Endpoint],
) -> Registration:
    """Import the plan's meters HES Core lacks, then bring every one's mode, address and DLMS settings up to date.

    `endpoints` says where the listening meters (outbound and push) listen; dial-in meters have none.

    Raises:
        InvalidInput: the import refused the file (an area of the plan is missing, ...).
    """
    numbers = [meter.meter_number for meter in plan.meters]
    async with sessions() as session:
        known = await meters_by_number(session, numbers)
    new = [meter for meter in plan.meters if meter.meter_number not in known]
    if new:
        async with sessions() as session:
            report = await import_csv(
                session, DEMO_PRINCIPAL, ImportEntity.METERS, io.BytesIO(_meters_csv(plan, endpoints, known))
            )
        logger.info("demo fleet: %d simulated meters imported", report.imported)
        async with sessions() as session:
            known = await meters_by_number(session, numbers)
    secrets = {entry["meterNumber"]: entry for entry in secrets_document(plan.fleet, endpoints)["meters"]}
    fresh = {meter.meter_number for meter in new}
    updated = 0
    for meter in plan.meters:
        async with sessions() as session:
            stored = await meters.get_meter(session, DEMO_PRINCIPAL, known[meter.meter_number].id)
            body = _update_body(meter.mode.value, secrets[meter.meter_number], stored.status)
            wanted, provided = MeterUpdate.model_validate(body).to_fields()
            changed = frozenset(name for name in provided if _differs(stored, wanted, name, box))
            if changed:
                await meters.update_meter(session, DEMO_PRINCIPAL, stored.id, wanted, changed, box)
                updated += meter.meter_number not in fresh
    ids = {number: ref.id for number, ref in known.items()}
    return Registration(len(new), updated, len(plan.meters) - len(new) - updated, ids)


def _meters_csv(plan: DemoFleetPlan, endpoints: Mapping[str, Endpoint], known: Mapping[str, object]) -> bytes:
    """The import file of the meters not stored yet: the simulator's rows, with each meter's area."""
    areas = {meter.meter_number: meter.area for meter in plan.meters}
    rows = [row for row in meter_rows(plan.fleet, endpoints) if row["meterNumber"] not in known]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=METER_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({**row, "area": areas[row["meterNumber"]]} for row in rows)
    return out.getvalue().encode("utf-8")


def _update_body(mode: str, secrets: Mapping[str, Any], status: MeterStatus) -> dict[str, Any]:
    """The PUT /api/meters/{id} body that makes the stored meter match the simulated one."""
    body: dict[str, Any] = {
        "connectionMode": mode,
        "ipAddress": secrets["ipAddress"],
        "port": secrets["port"],
        "dlms": secrets["dlms"],
    }
    # Imported meters without an address wait in stock; the simulated ones are all in the field.
    if status is MeterStatus.WAREHOUSE:
        body["status"] = MeterStatus.INSTALLED.value
    return body


def _differs(stored: Meter, wanted: MeterFields, name: str, box: SecretBox) -> bool:
    """Whether the stored meter's `name` differs from the wanted value (secrets compared opened)."""
    value = getattr(wanted, name)
    if name not in _SECRETS:
        return bool(getattr(stored, name) != value)
    sealed: bytes | None = getattr(stored, f"{name}_enc")
    if sealed is None or value is None:
        return sealed is not value
    expected = value.encode("utf-8") if name == "dlms_password" else bytes.fromhex(value)
    try:
        return box.open(sealed) != expected
    except ValueError:  # sealed with another data key: set it again with this one
        return True
