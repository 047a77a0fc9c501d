"""A private Mosquitto with HES Core's configuration, and meters publishing readings to it at QoS 1.

Used by bench/ingest_mqtt.py (the `mqtt` section of bench/ingest.py). The broker runs from deploy/mosquitto/
(mosquitto.conf and acl, only port and paths changed) on a free port, in a scratch directory; each meter logs in
with its own account. Publishers run in child processes (this file, `--publish`), so they do not share the
measuring process's interpreter.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
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
HES_USER, HES_PASSWORD = "hes-core", secrets.token_hex(8)
PUBLISHERS = 4  # child processes publishing; paho in threads of one process is held back by the GIL
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


# --- publishers (child processes) ----------------------------------------------------------------------------


def publish_meter(port: int, meter: str, count: int, base: datetime, acked: list[int]) -> None:
    """Publish `count` readings of one meter at QoS 1 and wait for every PUBACK."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{meter}", protocol=mqtt.MQTTv311)
    client.username_pw_set(meter, device_password(meter))
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    topic = uplink_topic(meter, Uplink.READINGS)
    infos = [client.publish(topic, payload(base, index), qos=1) for index in range(count)]
    for info in infos:
        info.wait_for_publish(timeout=300)
    acked.append(sum(info.is_published() for info in infos))
    client.disconnect()
    client.loop_stop()


def publishers_main(port: int, count: int, base: datetime, meters: list[str]) -> None:
    """Child process: publish from every meter at once, print the messages acknowledged."""
    acked: list[int] = []
    threads = [threading.Thread(target=publish_meter, args=(port, m, count, base, acked)) for m in meters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(sum(acked))


async def publish(broker: Broker, meters: list[str], per_meter: int, base: datetime) -> tuple[int, float]:
    """Publish from child processes (PUBLISHERS, meters dealt out); messages the broker acknowledged, seconds taken."""
    began = time.perf_counter()
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--publish",
            str(broker.port),
            str(per_meter),
            base.isoformat(),
            *meters[i::PUBLISHERS],
            stdout=asyncio.subprocess.PIPE,
        )
        for i in range(min(PUBLISHERS, len(meters)))
    ]
    outputs = await asyncio.gather(*(process.communicate() for process in processes))
    return sum(int(output.decode().strip() or 0) for output, _ in outputs), time.perf_counter() - began


if __name__ == "__main__":
    if sys.argv[1:2] != ["--publish"]:
        sys.exit("run through bench/ingest.py --sections mqtt (this file runs itself as a publisher child)")
    _, _, port, count, base, *meter_numbers = sys.argv
    publishers_main(int(port), int(count), datetime.fromisoformat(base), meter_numbers)
