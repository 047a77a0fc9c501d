"""HES Core's MQTT channel: one persistent broker session taking meter uplinks and carrying commands down.

The session is MQTT 5 with clean start off and a session expiry, under a client id stable per HES Core
instance, so the broker keeps every message HES Core has not acknowledged and hands it back after a
reconnect or a restart. Several instances split the load through a shared subscription (`share_group`).
Messages are acknowledged manually, each once its batch is durable (hes.connectivity.mqtt.uplink). When the
broker goes away, or a batch cannot be stored, the connection is dropped and re-established with
exponential back-off; what was not acknowledged is redelivered.

aiomqtt 2.5 has no public manual acknowledgement yet (empicano/aiomqtt#345); the paho-mqtt client it wraps
has one (`manual_ack_set`), set in `_new_client`; the PUBACKs themselves go out in batches
(hes.connectivity.mqtt.paho_io). aiomqtt and paho-mqtt are pinned for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import ssl
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import aiomqtt
from paho.mqtt.client import MQTTMessage
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions
from prometheus_client import Counter, Gauge

from hes.connectivity.mqtt.commands import CommandAck, CommandAckHandler, MqttUnavailable
from hes.connectivity.mqtt.paho_io import acknowledge, read_in_chunks
from hes.connectivity.mqtt.payloads import (
    CommandId,
    CommandMessage,
    JsonValue,
    PayloadProblem,
    decode_command_ack,
    encode_command,
)
from hes.connectivity.mqtt.rejects import RejectLedger
from hes.connectivity.mqtt.settings import MqttSettings
from hes.connectivity.mqtt.sink import MeterDataSink
from hes.connectivity.mqtt.topics import Uplink, UplinkTopic, commands_topic, parse_uplink, subscription
from hes.connectivity.mqtt.uplink import UplinkBatcher

logger = logging.getLogger(__name__)

CONNECTED = Gauge("hes_mqtt_connected", "1 while HES Core holds its session with the MQTT broker")
CONNECTS = Counter("hes_mqtt_connects_total", "Sessions opened with the MQTT broker (the first and every reconnect)")
_DATA_KINDS = (Uplink.READINGS, Uplink.EVENTS, Uplink.STATUS)


class MqttChannel:
    """The broker session: uplinks into `sink`, command acknowledgements to `on_command_ack`, commands out."""

    def __init__(
        self, settings: MqttSettings, sink: MeterDataSink, *, on_command_ack: CommandAckHandler | None = None
    ) -> None:
        self._settings = settings
        self._sink = sink
        self._on_command_ack = on_command_ack
        self._ledger = RejectLedger()
        self._client: aiomqtt.Client | None = None
        self._connected = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._ack_tasks: set[asyncio.Task[None]] = set()

    @property
    def connected(self) -> bool:
        """True while the broker session is up."""
        return self._connected.is_set()

    async def start(self) -> None:
        """Connect in the background (and keep reconnecting); return at once."""
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._run(), name="hes-mqtt-channel")

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Return once the session is up.

        Raises:
            TimeoutError: not connected within `timeout` seconds.
        """
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def stop(self, timeout: float = 60.0) -> None:
        """Stop taking messages, finish (and acknowledge) the batches being stored, disconnect.

        Messages gathered but not yet submitted stay unacknowledged: the broker keeps them in the session.
        """
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except TimeoutError:
            logger.warning("MQTT channel did not stop within %.0f s; cancelled", timeout)
            task.cancel()
            await asyncio.wait({task})

    async def publish_command(
        self,
        meter_number: str,
        command_id: CommandId,
        payload: Mapping[str, JsonValue],
        *,
        expires_in_s: int | None = None,
    ) -> None:
        """Publish a command to the meter at QoS 1; return once the broker has taken it.

        `expires_in_s` (MQTT 5 message expiry) lets the broker discard a command a meter has not picked up
        in time rather than deliver it late.

        Raises:
            ValueError: the meter number cannot be an MQTT topic level, or the payload is not JSON.
            MqttUnavailable: not connected within the settings' timeout, or the broker did not answer.
        """
        topic = commands_topic(meter_number)
        try:
            body = encode_command(CommandMessage(command_id, payload, datetime.now(UTC)))
        except TypeError as error:
            raise ValueError(f"the command payload is not JSON: {error}") from None
        properties = None
        if expires_in_s is not None:
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            properties.MessageExpiryInterval = expires_in_s
        try:
            await asyncio.wait_for(self._connected.wait(), self._settings.timeout_s)
        except TimeoutError:
            raise MqttUnavailable() from None
        client = self._client
        if client is None:
            raise MqttUnavailable()
        try:
            await client.publish(topic, body, qos=1, properties=properties, timeout=self._settings.timeout_s)
        except aiomqtt.MqttError as error:
            raise MqttUnavailable(f"the MQTT broker did not take the command: {error}") from None

    async def _run(self) -> None:
        settings = self._settings
        delay = settings.reconnect_min_s
        while not self._stopping.is_set():
            stored = False
            client = self._new_client()
            batcher = UplinkBatcher(
                self._sink,
                functools.partial(acknowledge, client),
                self._ledger,
                batch_readings=settings.batch_readings,
                max_submits=settings.max_submits,
            )
            self._take_messages(client, batcher)
            try:
                async with client:
                    CONNECTS.inc()
                    logger.info("MQTT session open on %s:%d as %s", settings.host, settings.port, settings.client_id)
                    stored = await self._session(client, batcher)
            except aiomqtt.MqttError as error:
                logger.warning("MQTT broker %s:%d unreachable or lost: %s", settings.host, settings.port, error)
            except Exception:
                logger.exception("MQTT channel failed; reconnecting")
            if self._stopping.is_set():
                return
            delay = settings.reconnect_min_s if stored else delay
            pause = delay * random.uniform(0.5, 1.0)  # jitter: instances restarted together do not reconnect together
            logger.info("MQTT reconnect in %.1f s", pause)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), pause)
            delay = min(delay * 2, settings.reconnect_max_s)

    async def _session(self, client: aiomqtt.Client, batcher: UplinkBatcher) -> bool:
        """Subscribe, take messages until the connection drops, a batch fails or we stop; True if a batch was stored.

        Raises:
            aiomqtt.MqttError: the connection was lost.
        """
        settings = self._settings
        kinds = _DATA_KINDS + ((Uplink.COMMAND_ACK,) if self._on_command_ack is not None else ())
        await client.subscribe(
            [(subscription(settings.share_group, kind), SubscribeOptions(qos=1)) for kind in kinds],
            timeout=settings.timeout_s,
        )
        self._client = client
        self._connected.set()
        CONNECTED.set(1)
        lost = asyncio.create_task(_disconnection(client), name="hes-mqtt-watch")
        stopping = asyncio.create_task(self._stopping.wait())
        try:
            ends: set[asyncio.Future[Any]] = {lost, stopping, batcher.failure}
            await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._connected.clear()
            self._client = None
            CONNECTED.set(0)
            lost.cancel()
            stopping.cancel()
            await asyncio.wait({lost, stopping})
            await batcher.drain()
            while self._ack_tasks:
                await asyncio.gather(*self._ack_tasks, return_exceptions=True)
        error = None if lost.cancelled() else lost.exception()
        if error is not None:
            raise error
        return batcher.stored_batches > 0

    def _take_messages(self, client: aiomqtt.Client, batcher: UplinkBatcher) -> None:
        """Hand every message paho decodes straight to the batcher, in the event loop's reader callback.

        aiomqtt's own route (a Message object, an asyncio.Queue, a task and a wait per message) halved the
        rate measured here (bench/ingest_mqtt.py), mostly in garbage collection of the per-message objects.
        """

        def on_message(_paho: object, _userdata: object, message: MQTTMessage) -> None:
            try:
                name = message.topic
            except UnicodeDecodeError:  # MQTT requires UTF-8 topics; a broker letting one through is at fault
                name = ""
            topic = parse_uplink(name)
            if topic is None:  # a subscription of this session's past, or a meter number MQTT cannot address
                logger.debug("MQTT message on unexpected topic %r acknowledged and dropped", name)
                if message.qos:
                    acknowledge(client, [message.mid])
                return
            try:
                if topic.kind is Uplink.COMMAND_ACK:
                    self._command_ack(client, batcher, topic, message)
                else:
                    batcher.add(topic, message.payload, message.mid, message.qos)
            except Exception:
                # A fault of ours on one message must not stop the channel: redelivered, it would fail again
                # after every reconnect and block everything behind it. It is refused (and acknowledged).
                logger.exception("MQTT message on %s could not be taken in", name)
                batcher.refuse(topic, [PayloadProblem(None, "payload", "internal_error")], message.mid, message.qos)

        client._client.on_message = on_message

    def _command_ack(
        self, client: aiomqtt.Client, batcher: UplinkBatcher, topic: UplinkTopic, message: MQTTMessage
    ) -> None:
        decoded = decode_command_ack(message.payload)
        if isinstance(decoded, PayloadProblem) or self._on_command_ack is None:
            batcher.refuse(topic, [decoded] if isinstance(decoded, PayloadProblem) else [], message.mid, message.qos)
            return
        ack = CommandAck.of(topic.meter_number, decoded, datetime.now(UTC))
        task = asyncio.create_task(self._deliver(self._on_command_ack, ack, client, batcher, message.mid))
        self._ack_tasks.add(task)
        task.add_done_callback(self._ack_tasks.discard)

    async def _deliver(
        self, handler: CommandAckHandler, ack: CommandAck, client: aiomqtt.Client, batcher: UplinkBatcher, mid: int
    ) -> None:
        try:
            await handler(ack)
        except Exception as error:
            logger.exception("command acknowledgement handler failed on %s/%s", ack.meter_number, ack.command_id)
            if not batcher.failure.done():
                batcher.failure.set_result(error)  # not acknowledged: the broker hands it back after reconnect
            return
        acknowledge(client, [mid])

    def _new_client(self) -> aiomqtt.Client:
        settings = self._settings
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = settings.session_expiry_s
        properties.ReceiveMaximum = settings.receive_maximum
        client = aiomqtt.Client(
            settings.host,
            settings.port,
            username=settings.username,
            password=settings.password,
            identifier=settings.client_id,
            protocol=aiomqtt.ProtocolVersion.V5,
            clean_start=False,
            keepalive=settings.keepalive_s,
            timeout=settings.timeout_s,
            properties=properties,
            tls_context=ssl.create_default_context() if settings.tls else None,
        )
        client.pending_calls_threshold = settings.receive_maximum  # many commands may be in flight at once
        client._client.manual_ack_set(True)
        read_in_chunks(client)
        return client


async def _disconnection(client: aiomqtt.Client) -> None:
    """Return never; raise `aiomqtt.MqttError` once the connection is lost (messages bypass aiomqtt's queue)."""
    async for _ in client.messages:
        pass
