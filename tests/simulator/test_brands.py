"""The brand catalogue agrees with the brand profiles it names."""

from __future__ import annotations

from hes.obis import load_profile
from hes.simulator.brands import BRANDS
from hes.simulator.fleet import PUBLIC_CLIENT


def test_brands_use_client_saps_their_profiles_know() -> None:
    for name, brand in BRANDS.items():
        profile = load_profile(name)
        assert profile.client(brand.client_sap) is not None, name
        assert (profile.client(PUBLIC_CLIENT) is not None) == brand.public_client, name
    assert len({brand.number_prefix for brand in BRANDS.values()}) == len(BRANDS), "meter numbers tell brands apart"
    assert all(len(brand.flag_id) == 3 for brand in BRANDS.values())
