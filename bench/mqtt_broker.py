"""A private Mosquitto with HES Core's configuration, and meters publishing readings to it at QoS 1.

Used by bench/ingest_mqtt.py (the `mqtt` section of bench/ingest.py). The broker runs from deploy/mosquitto/
(mosquitto.conf and acl, only port and paths changed) on a free port, in a scratch directory; each meter logs in
with its own account, publishing with mosquitto_pub (Debian's mosquitto-clients).
"""

from __future__ import annotations

import asyncio
import re
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hes.connectivity.mqtt import Uplink, uplink_topic

DEPLOY = Path(__file__).resolve().parent.parent / "deploy" / "mosquitto"
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PUB = shutil.which("mosquitto_pub") or "/usr/bin/mosquitto_pub"  # Debian's mosquitto-clients
HES_USER, HES_PASSWORD = "hes-core", secrets.token_hex(8)
OBIS = "1-0:1.8.0.255"  # one of the fleet's codes (bench/ingest.py's CODES), so the catalogue knows it


def device_password(meter_number: str) -> str:
    """Each bench meter's broker password."""
    return f"bench-{meter_number}"


def payload(base: datetime, index: int) -> bytes:
    """Message `index` of a meter: one energy reading, `index` seconds after `base`."""
    moment = (base + timedelta(seconds=index)).isoformat()
    return b'{"obis":"%s","timestamp":"%s","value":%d.5,"unit":"Wh"}' % (OBIS.encode(), moment.encode(), index)


# --- the broker ------------------------------------------------------------------------------------------


class Broker:
    """A Mosquitto with HES Core's configuration on a free port, in a scratch directory."""

    def __init__(self, directory: Path, meters: Sequence[str]) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.directory = directory
        passwords = directory / "passwd"
        passwords.touch(mode=0o600)
        for user, password in [(HES_USER, HES_PASSWORD), *((meter, device_password(meter)) for meter in meters)]:
            subprocess.run(["mosquitto_passwd", "-b", str(passwords), user, password], check=True)
        shutil.copy(DEPLOY / "acl", directory / "acl")
        config = (DEPLOY / "mosquitto.conf").read_text()
        for pattern, line in {
            r"^listener 1883$": f"listener {self.port} 127.0.0.1",
            r"^password_file .*$": f"password_file {passwords}",
            r"^acl_file .*$": f"acl_file {directory / 'acl'}",
            r"^persistence_location .*$": f"persistence_location {directory}/",
        }.items():
            config = re.sub(pattern, line, config, flags=re.MULTILINE)
        (directory / "mosquitto.conf").write_text(config + "\nuser root\n")
        log = (directory / "mosquitto.log").open("ab")
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(directory / "mosquitto.conf")], stdout=log, stderr=log)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("mosquitto did not start")

    @property
    def url(self) -> str:
        """MQTT_URL for HES Core."""
        return f"mqtt://{HES_USER}:{HES_PASSWORD}@127.0.0.1:{self.port}"

    def dropped(self) -> bool:
        """True if the broker logged dropping messages."""
        return "dropped" in (self.directory / "mosquitto.log").read_text(errors="replace").lower()

    def stop(self) -> None:
        """Terminate the broker."""
        self.process.terminate()
        self.process.wait(10)


def consumer(client_id: str) -> mqtt.Client:
    """A plain paho MQTT 5 client logged in as HES Core."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, reconnect_on_failure=False
    )
    client.username_pw_set(HES_USER, HES_PASSWORD)
    return client


def forget_session(broker: Broker, client_id: str) -> None:
    """End a consumer's persistent session, so later bursts are not also queued for a consumer that is done."""
    client = consumer(client_id)
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = 0
    client.connect("127.0.0.1", broker.port, clean_start=True, properties=properties)
    client.loop(1.0)
    client.disconnect()


# --- publishers ----------------------------------------------------------------------------------------------


async def _publish_meter(broker: Broker, meter: str, count: int, base: datetime) -> int:
    """Publish `count` readings of one meter at QoS 1; the messages the broker acknowledged (all, or 0 on failure).

    mosquitto_pub (C, one message per stdin line, up to 1,000 in flight) rather than paho: paho's threaded
    publisher cost about 156 us of CPU per message here, which left the live phase's two cores to the load
    generator instead of HES Core.
    """
    process = await asyncio.create_subprocess_exec(
        MOSQUITTO_PUB, "-h", "127.0.0.1", "-p", str(broker.port), "-i", f"bench-{meter}",
        "-u", meter, "-P", device_password(meter), "-t", uplink_topic(meter, Uplink.READINGS),
        "-q", "1", "-M", "1000", "-l",
        stdin=asyncio.subprocess.PIPE,
    )  # fmt: skip
    lines = b"".join(payload(base, index) + b"\n" for index in range(count))
    await process.communicate(lines)
    return count if process.returncode == 0 else 0


async def publish(broker: Broker, meters: list[str], per_meter: int, base: datetime) -> tuple[int, float]:
    """Publish from every meter at once; messages the broker acknowledged, seconds taken."""
    began = time.perf_counter()
    acked = await asyncio.gather(*(_publish_meter(broker, meter, per_meter, base) for meter in meters))
    return sum(acked), time.perf_counter() - began
