"""MQTT settings from MQTT_URL: schemes, defaults, credentials, limits."""

from __future__ import annotations

import pytest

from hes.connectivity.mqtt.settings import MqttSettings, default_client_id


def test_a_plain_url_with_credentials() -> None:
    settings = MqttSettings.from_url("mqtt://hes-core:s%40cret@broker.example:1884", client_id="hes-1")
    assert (settings.host, settings.port, settings.username, settings.password, settings.tls) == (
        "broker.example",
        1884,
        "hes-core",
        "s@cret",
        False,
    )
    assert settings.client_id == "hes-1"
    assert "s@cret" not in repr(settings)


def test_tls_and_default_ports() -> None:
    assert MqttSettings.from_url("mqtts://broker.example").port == 8883
    assert MqttSettings.from_url("mqtts://broker.example").tls
    assert MqttSettings.from_url("mqtt://127.0.0.1").port == 1883


def test_the_client_id_defaults_to_one_stable_per_host() -> None:
    assert MqttSettings.from_url("mqtt://127.0.0.1").client_id == default_client_id()
    assert default_client_id().startswith("hes-core-")


@pytest.mark.parametrize(
    ("url", "options", "message"),
    [
        ("http://127.0.0.1", {}, "MQTT_URL"),
        ("mqtt://", {}, "host"),
        ("mqtt://127.0.0.1", {"receive_maximum": 0}, "receive_maximum"),
        ("mqtt://127.0.0.1", {"receive_maximum": 70_000}, "receive_maximum"),
        ("mqtt://127.0.0.1", {"share_group": "a/b"}, "group"),
        ("mqtt://127.0.0.1", {"share_group": "a+"}, "group"),
    ],
)
def test_bad_settings_are_refused(url: str, options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MqttSettings.from_url(url, **options)  # type: ignore[arg-type]
