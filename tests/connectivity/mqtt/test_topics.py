"""The MQTT topic tree: building topics, reading them back, refusing meter numbers MQTT cannot address."""

from __future__ import annotations

import pytest

from hes.connectivity.mqtt.topics import (
    Uplink,
    UplinkTopic,
    addressable,
    commands_topic,
    parse_uplink,
    subscription,
    uplink_topic,
)


@pytest.mark.parametrize("kind", list(Uplink))
def test_every_uplink_topic_reads_back(kind: Uplink) -> None:
    assert parse_uplink(uplink_topic("MTR-0001", kind)) == UplinkTopic("MTR-0001", kind)


def test_topics_are_the_documented_ones() -> None:
    assert uplink_topic("47007000001", Uplink.READINGS) == "hes/meters/47007000001/readings"
    assert uplink_topic("47007000001", Uplink.COMMAND_ACK) == "hes/meters/47007000001/commands/ack"
    assert commands_topic("47007000001") == "hes/meters/47007000001/commands"
    assert subscription("hes", Uplink.EVENTS) == "$share/hes/hes/meters/+/events"
    assert subscription("", Uplink.EVENTS) == "hes/meters/+/events"


@pytest.mark.parametrize(
    "topic",
    [
        "hes/meters/MTR-1/commands",  # downstream, never an uplink
        "hes/meters/MTR-1/readings/extra",
        "hes/meters//readings",
        "hes/meters/MTR-1",
        "other/hes/meters/MTR-1/readings",
        "hes/meter/MTR-1/readings",
        "",
    ],
)
def test_topics_outside_the_uplink_tree_are_not_read(topic: str) -> None:
    assert parse_uplink(topic) is None


@pytest.mark.parametrize("number", ["MTR/1", "MTR+1", "MTR#1", "", "A\x00B"])
def test_meter_numbers_mqtt_cannot_address_are_refused(number: str) -> None:
    assert not addressable(number)
    with pytest.raises(ValueError, match="topic level"):
        commands_topic(number)
    with pytest.raises(ValueError, match="topic level"):
        uplink_topic(number, Uplink.READINGS)
