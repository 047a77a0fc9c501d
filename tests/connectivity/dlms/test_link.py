"""A meter link: every problem listed at once, secrets never shown."""

from __future__ import annotations

import pytest

from hes.connectivity.dlms import ClientLimits, MeterLink
from hes.db.enums import DlmsAuthentication, DlmsTransport

KEY = bytes(range(16))


def test_a_ciphered_link_needs_both_keys_and_a_system_title_and_hides_its_secrets() -> None:
    link = MeterLink(
        meter_id=1,
        meter_number="47007000001",
        host="10.0.0.5",
        authentication=DlmsAuthentication.HLS_GMAC,
        authentication_key=KEY,
        block_cipher_key=KEY,
        client_system_title=b"HES00001",
        invocation_counter=42,
    )
    assert link.ciphered and link.port == 4059 and link.client_address == 1
    assert KEY.hex() not in repr(link) and str(KEY) not in repr(link) and "invocation_counter=42" in repr(link)
    assert "secret" not in repr(MeterLink(meter_id=2, meter_number="1", host="h", password=b"secret"))


def test_every_problem_of_a_link_is_listed() -> None:
    with pytest.raises(ValueError) as caught:
        MeterLink(
            meter_id=1,
            meter_number="1",
            host="h",
            port=70000,
            transport=DlmsTransport.HDLC,
            physical_address=3,
            authentication=DlmsAuthentication.HLS_GMAC,
            authentication_key=b"short",
            invocation_counter=-1,
        )
    message = str(caught.value)
    for problem in (
        "port 70000",
        "physical address 3",
        "HLS-GMAC needs a block cipher key",
        "authentication_key must be 16 octets",
        "invocation counter -1",
    ):
        assert problem in message
    with pytest.raises(ValueError, match="LLS needs a password"):
        MeterLink(meter_id=1, meter_number="1", host="h", authentication=DlmsAuthentication.LLS)


def test_limits_refuse_sizes_no_meter_could_use() -> None:
    assert ClientLimits().max_wrapper_apdu == 0xFFFF
    assert ClientLimits(max_receive_pdu=512).max_wrapper_apdu == 544
    with pytest.raises(ValueError, match="max_receive_pdu"):
        ClientLimits(max_receive_pdu=5)
    with pytest.raises(ValueError, match="max_info_field"):
        ClientLimits(max_info_field=4000)
