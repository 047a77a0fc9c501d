"""Publish a burst of QoS 1 readings as fast as the broker takes them: one paho connection per meter, in threads.

    python -m tests.connectivity.mqtt.burst --port 1883 --count 12500 --start 0 MTR-1 MTR-2 ...

Run as its own process so the publishers do not share the test's event loop (or its core). Each meter sends
`count` messages of one energy reading each, quarter-hourly from 2025-03-03, and exits 0 once the broker has
acknowledged every one of them (PUBACK); it prints the number acknowledged.
"""

from __future__ import annotations

import argparse
import threading
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.connectivity.mqtt.broker import device_password

START = datetime(2025, 3, 3, tzinfo=UTC)
ENERGY = "1-0:1.8.0.255"


def reading(step: int) -> bytes:
    """Message `step` of a meter: one energy reading, quarter-hourly from START."""
    moment = (START + timedelta(minutes=15 * step)).isoformat()
    return b'{"obis":"%s","timestamp":"%s","value":%d.5,"unit":"kWh"}' % (ENERGY.encode(), moment.encode(), step)


def publish(port: int, meter_number: str, first: int, count: int, acked: list[int]) -> None:
    """Publish `count` readings of one meter and wait for every PUBACK."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"burst-{meter_number}", protocol=mqtt.MQTTv311)
    client.username_pw_set(meter_number, device_password(meter_number))
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        topic = f"hes/meters/{meter_number}/readings"
        infos = [client.publish(topic, reading(step), qos=1) for step in range(first, first + count)]
        for info in infos:
            info.wait_for_publish(timeout=120)
        acked.append(sum(info.is_published() for info in infos))
    finally:
        client.disconnect()
        client.loop_stop()


def main() -> None:
    """Publish from every meter at once; print how many messages the broker acknowledged."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("meters", nargs="+")
    arguments = parser.parse_args()
    acked: list[int] = []
    threads = [
        threading.Thread(target=publish, args=(arguments.port, meter, arguments.start, arguments.count, acked))
        for meter in arguments.meters
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(sum(acked))


if __name__ == "__main__":
    main()
