"""HES Core's MQTT topic tree: what meters publish, what HES Core subscribes to, and reading a topic back.

    hes/meters/{meterNumber}/readings       meter -> HES   readings (QoS 1)
    hes/meters/{meterNumber}/events         meter -> HES   meter events (QoS 1)
    hes/meters/{meterNumber}/status         meter -> HES   heartbeat / online / offline (last will)
    hes/meters/{meterNumber}/commands       HES -> meter   remote operations (QoS 1)
    hes/meters/{meterNumber}/commands/ack   meter -> HES   command acknowledgements (QoS 1)

Several HES Core instances split the stream through shared subscriptions (`$share/{group}/...`, MQTT 5
section 4.8.2): the broker hands each message to one member of the group instead of to every instance. A
single instance subscribes plainly: Mosquitto 2.0 restores plain subscriptions of persistent sessions after a
broker restart but not shared ones, so a shared-only subscriber misses what meters publish between the broker's
restart and its own reconnect (deploy/mosquitto/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

PREFIX = "hes/meters"
# A topic level may not hold the MQTT wildcards or the level separator; such a meter number cannot be
# addressed over MQTT (meter numbers may contain "/", see hes.validation.meter_number).
_NOT_IN_A_LEVEL = frozenset("/+#\x00")


class Uplink(StrEnum):
    """The kinds of message a meter publishes; the value is the topic's suffix after the meter number."""

    READINGS = "readings"
    EVENTS = "events"
    STATUS = "status"
    COMMAND_ACK = "commands/ack"


@dataclass(frozen=True, slots=True)
class UplinkTopic:
    """A received topic, read back: which meter sent it and what kind of message it is."""

    meter_number: str
    kind: Uplink


def addressable(meter_number: str) -> bool:
    """True when the meter number can be one topic level (no '/', '+', '#', NUL; not empty)."""
    return bool(meter_number) and _NOT_IN_A_LEVEL.isdisjoint(meter_number)


def uplink_topic(meter_number: str, kind: Uplink) -> str:
    """The topic a meter publishes `kind` messages on.

    Raises:
        ValueError: the meter number cannot be a topic level.
    """
    return f"{_meter_level(meter_number)}/{kind.value}"


def commands_topic(meter_number: str) -> str:
    """The topic a meter reads its commands from.

    Raises:
        ValueError: the meter number cannot be a topic level.
    """
    return f"{_meter_level(meter_number)}/commands"


def subscription(group: str, kind: Uplink) -> str:
    """The filter HES Core subscribes to `kind` messages with: shared by the instances of `group`, or plain."""
    plain = f"{PREFIX}/+/{kind.value}"
    return f"$share/{group}/{plain}" if group else plain


def parse_uplink(topic: str) -> UplinkTopic | None:
    """The meter and kind of a received topic; None for a topic outside the uplink tree."""
    head, separator, rest = topic.partition(PREFIX + "/")
    if head or not separator:
        return None
    meter_number, _, suffix = rest.partition("/")
    if not meter_number:
        return None
    try:
        kind = Uplink(suffix)
    except ValueError:
        return None
    return UplinkTopic(meter_number, kind)


def _meter_level(meter_number: str) -> str:
    if not addressable(meter_number):
        raise ValueError(f"meter number {meter_number!r} cannot be an MQTT topic level")
    return f"{PREFIX}/{meter_number}"
