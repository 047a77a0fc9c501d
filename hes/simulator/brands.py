"""The brands a simulated fleet can have: how their meters are numbered, named, and which clients they serve.

A catalogue (habit 10): adding a brand is adding a row, with its brand profile in hes/obis/data. Re-exported by
`hes.simulator.fleet`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["BRANDS", "BrandInfo"]


@dataclass(frozen=True, slots=True)
class BrandInfo:
    """What the fleet needs to know of a brand: how its meters are numbered, named and which client SAP the HES is."""

    name: str  # as the meters CSV writes it
    number_prefix: str  # the first digits of its meter numbers (the sample fleet's convention)
    flag_id: bytes  # the 3-octet manufacturer id in front of the system title (IEC 62056-5-3 4.3.4)
    model: str
    firmware: str
    meter_type: str
    client_sap: int  # the client the HES associates as (the brand profile's management / utility client)
    public_client: bool  # whether the brand also serves the public client 16 without authentication


# The brand table (habit 10: catalogues are data). Client SAPs are those of the brand profiles in hes/obis/data;
# HXE is Hexing's FLAG id, the other two ids are the simulator's own.
BRANDS: Mapping[str, BrandInfo] = {
    "hexing": BrandInfo("Hexing", "47", b"HXE", "HXE110", "V1.02.07", "single-phase", 1, True),
    "hexcell": BrandInfo("Hexcell", "62", b"HCX", "HC-DDSY", "3.4.1", "single-phase", 17, False),
    "idis": BrandInfo("IDIS", "99", b"SIM", "IDIS-P2", "1.0.0", "three-phase", 1, True),
}
