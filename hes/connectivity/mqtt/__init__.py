"""HES Core's MQTT channel (aiomqtt, MQTT 5): meter uplinks into the ingest path, commands down, acks back.

    channel = MqttChannel(MqttSettings.from_url("mqtt://hes-core:secret@127.0.0.1:1883"),
                          IngestorSink(runtime.ingestor, runtime.sessions), on_command_ack=handle_ack)
    await channel.start()
    await channel.publish_command("MTR-0001", 42, {"action": "disconnect"})
    await channel.stop()

Topics are in `topics`, payloads in `payloads`; the broker configuration is deploy/mosquitto/.
"""

from hes.connectivity.mqtt.channel import MqttChannel
from hes.connectivity.mqtt.commands import CommandAck, CommandAckHandler, MqttUnavailable
from hes.connectivity.mqtt.payloads import CommandId, JsonValue
from hes.connectivity.mqtt.settings import MqttSettings
from hes.connectivity.mqtt.sink import CommunicationNote, IngestorSink, MeterDataSink
from hes.connectivity.mqtt.topics import Uplink, commands_topic, subscription, uplink_topic

__all__ = [
    "CommandAck",
    "CommandAckHandler",
    "CommandId",
    "CommunicationNote",
    "IngestorSink",
    "JsonValue",
    "MeterDataSink",
    "MqttChannel",
    "MqttSettings",
    "MqttUnavailable",
    "Uplink",
    "commands_topic",
    "subscription",
    "uplink_topic",
]
