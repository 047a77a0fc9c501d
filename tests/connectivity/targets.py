"""Meter targets built from plain records, for tests that need no database."""

from __future__ import annotations

from hes.connectivity.meter_links import MeterTarget
from hes.db.enums import ConnectionMode, DlmsAuthentication, DlmsTransport, MeterStatus
from hes.db.store.meter_links import MeterLinkRow


def link_row(**changes: object) -> MeterLinkRow:
    """A Hexing meter's record (outbound, wrapper, no security, no address) with `changes`."""
    fields: dict[str, object] = {
        "id": 1,
        "meter_number": "47007000001",
        "brand": "Hexing",
        "area_id": None,
        "status": MeterStatus.INSTALLED,
        "connection_mode": ConnectionMode.OUTBOUND,
        "ip_address": None,
        "port": None,
        "sim_ip_address": None,
        "transport": DlmsTransport.WRAPPER,
        "client_address": 1,
        "server_address": 1,
        "physical_address": None,
        "authentication": DlmsAuthentication.NONE,
    }
    fields.update(changes)
    return MeterLinkRow(**fields)  # type: ignore[arg-type]


def target(**changes: object) -> MeterTarget:
    """The target of `link_row(**changes)` (at 10.0.0.1 unless said otherwise), default port 4059."""
    changes.setdefault("ip_address", "10.0.0.1")
    return MeterTarget.from_row(link_row(**changes), 4059)
