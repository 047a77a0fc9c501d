"""A meter's record as a target: its channel, the route limits count against, its brand profile and its link."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from hes.connectivity.meter_links import Channel
from hes.db.enums import ConnectionMode, DlmsAuthentication
from hes.security.secret_box import SecretBox
from tests.connectivity.targets import target


def test_an_outbound_meter_is_reached_at_its_address_else_at_its_sims_on_the_dlms_port() -> None:
    own = target(ip_address="10.1.2.3", port=4100, sim_ip_address="10.9.9.9")
    assert (own.channel, own.route, own.brand) == (Channel.OUTBOUND, "10.1.2.3:4100", "hexing")
    sim = target(ip_address=None, sim_ip_address="10.9.9.9", port=4100)
    assert (sim.channel, sim.route) == (Channel.OUTBOUND, "10.9.9.9:4059")
    assert target(brand="Acme").brand == "idis"  # the generic IDIS profile


@pytest.mark.parametrize(
    ("mode", "address", "channel"),
    [
        (ConnectionMode.DIAL_IN, None, Channel.DIAL_IN),
        (ConnectionMode.PUSH, "10.1.1.1", Channel.OUTBOUND),  # a pushing meter that also listens
        (ConnectionMode.PUSH, None, Channel.NONE),
        (ConnectionMode.HTTP, "10.1.1.1", Channel.NONE),
        (ConnectionMode.MQTT, "10.1.1.1", Channel.NONE),
        (ConnectionMode.OUTBOUND, None, Channel.NONE),
    ],
)
def test_the_channel_follows_the_connection_mode(mode: ConnectionMode, address: str | None, channel: Channel) -> None:
    meter = target(connection_mode=mode, ip_address=address)
    assert meter.channel is channel
    if channel is Channel.DIAL_IN:
        assert meter.route == "meter:1"  # its own socket: counted apart from every other meter


def test_the_link_opens_the_sealed_secrets_and_carries_the_counter() -> None:
    box = SecretBox(Fernet.generate_key().decode())
    key, cipher = bytes(range(16)), bytes(range(16, 32))
    meter = target(
        authentication=DlmsAuthentication.HLS_GMAC,
        authentication_key_enc=box.seal(key),
        block_cipher_key_enc=box.seal(cipher),
        physical_address=None,
    )
    link = meter.link(box, b"HES00001", 1234)
    assert (link.authentication_key, link.block_cipher_key, link.invocation_counter) == (key, cipher, 1234)
    assert link.client_system_title == b"HES00001" and meter.ciphered and "key" not in repr(meter).lower()
    other = SecretBox(Fernet.generate_key().decode())
    with pytest.raises(ValueError):
        meter.link(other, b"HES00001", 1)  # sealed with another data key
