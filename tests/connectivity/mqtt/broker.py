"""A dedicated Mosquitto for one test, run with HES Core's own configuration (deploy/mosquitto/) on a free port.

The shared broker on 1883 is never touched: each test gets its own process, password file (made with
mosquitto_passwd) and persistence directory, from deploy/mosquitto/mosquitto.conf and deploy/mosquitto/acl with
only the paths and the listener changed.
"""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "mosquitto"
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
HES_USER = "hes-core"
HES_PASSWORD = "hes-core-test-password"


def device_password(meter_number: str) -> str:
    """The password each test meter logs in with."""
    return f"pw-{meter_number}"


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Broker:
    """A running Mosquitto; `restart` keeps its port and persistence (a broker restart)."""

    directory: Path
    port: int
    devices: list[str]
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """MQTT_URL for HES Core."""
        return f"mqtt://{HES_USER}:{HES_PASSWORD}@127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        """What the broker logged so far."""
        return (self.directory / "mosquitto.log").read_text(errors="replace")

    def start(self) -> None:
        """Start the broker and wait until it accepts connections."""
        log = (self.directory / "mosquitto.log").open("ab")
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.directory / "mosquitto.conf")], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"mosquitto did not listen on {self.port}: {self.log}")

    def stop(self) -> None:
        """Stop the broker gracefully (it saves its persistence database)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        """Stop and start again on the same port and persistence."""
        self.stop()
        self.start()


def make_broker(directory: Path, devices: list[str]) -> Broker:
    """A broker configured from deploy/mosquitto, with hes-core and each device as users; not yet started."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    passwords = directory / "passwd"
    passwords.touch(mode=0o600)
    for user, password in [(HES_USER, HES_PASSWORD), *((device, device_password(device)) for device in devices)]:
        subprocess.run(["mosquitto_passwd", "-b", str(passwords), user, password], check=True, capture_output=True)
    shutil.copy(DEPLOY / "acl", directory / "acl")
    (directory / "mosquitto.conf").write_text(_test_config(directory, port))
    return Broker(directory, port, devices)


def _test_config(directory: Path, port: int) -> str:
    """deploy/mosquitto/mosquitto.conf with the test's port and paths; every other setting unchanged."""
    config = (DEPLOY / "mosquitto.conf").read_text()
    replacements = {
        r"^listener 1883$": f"listener {port} 127.0.0.1",
        r"^password_file .*$": f"password_file {directory / 'passwd'}",
        r"^acl_file .*$": f"acl_file {directory / 'acl'}",
        r"^persistence_location .*$": f"persistence_location {directory}/",
    }
    for pattern, line in replacements.items():
        config, found = re.subn(pattern, line, config, flags=re.MULTILINE)
        assert found == 1, f"deploy/mosquitto/mosquitto.conf has no line matching {pattern}"
    # Run as the invoking user: as root, mosquitto would switch to user `mosquitto`, who cannot write here.
    return config + "\nuser root\n"
