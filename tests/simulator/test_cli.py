"""`hes simulate`: the command runs a fleet as a process, writes its files, answers DLMS, and stops on SIGTERM.

The files it writes are what the HES takes: the CSV goes through the meters import, the secrets through the meters
API's `dlms` object.
"""

from __future__ import annotations

import asyncio
import csv
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gurux_dlms.enums import Authentication as GuruxAuthentication
from gurux_dlms.enums import InterfaceType, Security
from gurux_dlms.objects import GXDLMSClock, GXDLMSData, GXDLMSRegister
from gurux_dlms.secure import GXDLMSSecureClient
from httpx import AsyncClient

from hes.services.imports.report import ImportEntity
from hes.services.imports.templates import TEMPLATES
from hes.simulator.cli import METER_COLUMNS, meter_rows, secrets_document
from hes.simulator.fleet import FleetSpec, fleet_from_options
from hes.simulator.server import Endpoint
from tests.simulator.gurux_peer import CLIENT_TITLE, GuruxPeer, StreamWire
from tests.simulator.test_push import decode

HES = str(Path(sys.executable).parent / "hes")
_STARTUP_SECONDS = 30  # generous: a cold interpreter imports the whole package before it listens


def test_the_csv_columns_are_the_meters_import_template() -> None:
    assert TEMPLATES[ImportEntity.METERS].headers == METER_COLUMNS


@pytest.fixture
def simulate(tmp_path: Path) -> Iterator[Any]:
    """Start `hes simulate` with the given options; the process is terminated (and awaited) at the end."""
    processes: list[subprocess.Popen[str]] = []

    def start(*options: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [HES, "simulate", *options], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def _wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + _STARTUP_SECONDS
    while not path.exists():
        if process.poll() is not None:
            _, errors = process.communicate()
            pytest.fail(f"hes simulate exited with {process.returncode}: {errors}")
        assert time.monotonic() < deadline, f"{path.name} not written within {_STARTUP_SECONDS} s"
        time.sleep(0.05)


def _client_from_secrets(meter: dict[str, Any]) -> GXDLMSSecureClient:
    """A gurux client configured only from what the secrets file says (as a HES would)."""
    dlms = meter["dlms"]
    mechanism = {"none": GuruxAuthentication.NONE, "lls": GuruxAuthentication.LOW}
    authentication = mechanism.get(dlms["authentication"], GuruxAuthentication.HIGH_GMAC)
    client = GXDLMSSecureClient(
        True, dlms["clientAddress"], dlms["serverAddress"], authentication, dlms["password"], InterfaceType.WRAPPER
    )
    if meter["securityPolicy"] == "authenticated-encrypted":
        client.ciphering.security = Security.AUTHENTICATION_ENCRYPTION
        client.ciphering.systemTitle = CLIENT_TITLE
        client.ciphering.blockCipherKey = bytes.fromhex(dlms["blockCipherKey"])
        client.ciphering.authenticationKey = bytes.fromhex(dlms["authenticationKey"])
    return client


async def test_hes_simulate_writes_its_files_answers_dlms_and_stops_on_sigterm(simulate: Any, tmp_path: Path) -> None:
    process = simulate(
        "--meters", "3", "--brand", "hexing", "--auth", "hls", "--base-port", "0", "--seed", "21",
        "--csv", "fleet.csv", "--secrets-json", "secrets.json",
    )  # fmt: skip
    _wait_for(tmp_path / "secrets.json", process)
    _wait_for(tmp_path / "fleet.csv", process)

    with (tmp_path / "fleet.csv").open(newline="") as source:
        rows = list(csv.DictReader(source))
    assert list(rows[0]) == list(METER_COLUMNS)
    assert [row["meterNumber"] for row in rows] == ["47021000001", "47021000002", "47021000003"]
    assert {row["ipAddress"] for row in rows} == {"127.0.0.1"} and len({row["port"] for row in rows}) == 3
    assert (tmp_path / "secrets.json").stat().st_mode & 0o077 == 0  # owner only: it holds keys
    secrets = json.loads((tmp_path / "secrets.json").read_text())["meters"]
    assert [meter["port"] for meter in secrets] == [int(row["port"]) for row in rows]
    assert {(meter["publicClientAddress"], meter["invocationCounterObis"]) for meter in secrets} == {
        (16, "0-0:43.1.0.255")
    }
    assert {meter["ciphering"] for meter in secrets} == {"service-specific"}

    meter = secrets[2]
    wire = await StreamWire.open(meter["ipAddress"], meter["port"])
    peer = GuruxPeer(_client_from_secrets(meter), wire)
    await peer.associate()
    clock, register, serial = (
        GXDLMSClock("0.0.1.0.0.255"),
        GXDLMSRegister("1.0.1.8.0.255"),
        GXDLMSData("0.0.96.1.0.255"),
    )
    await peer.read(clock, 2)
    await peer.read(register, 3)
    await peer.read(serial, 2)
    assert bytes(serial.value).decode() == meter["meterNumber"] and register.unit == 30
    assert abs(clock.time.value.timestamp() - time.time()) < 120  # the meter's clock runs
    await peer.release()
    await wire.close()

    process.send_signal(signal.SIGTERM)
    output, errors = process.communicate(timeout=15)
    assert process.returncode == 0, errors
    assert "simulating 3 meters on 127.0.0.1" in output and "stopping" in output
    assert meter["dlms"]["blockCipherKey"] not in output + errors  # keys only ever go to the secrets file


def test_a_fleet_file_describes_a_mixed_fleet(simulate: Any, tmp_path: Path) -> None:
    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text(
        "seed: 5\nbase_port: 0\nmeters:\n"
        "  - {count: 2, brand: hexing, transport: wrapper, auth: hls}\n"
        "  - {count: 2, brand: hexcell, transport: hdlc, auth: lls}\n"
    )
    process = simulate("--fleet", "fleet.yaml", "--csv", "fleet.csv")
    _wait_for(tmp_path / "fleet.csv", process)
    with (tmp_path / "fleet.csv").open(newline="") as source:
        rows = list(csv.DictReader(source))
    assert [(row["meterNumber"], row["brand"]) for row in rows] == [
        ("47005000001", "Hexing"),
        ("47005000002", "Hexing"),
        ("62005000003", "Hexcell"),
        ("62005000004", "Hexcell"),
    ]
    assert rows[2]["port"] == rows[3]["port"] not in (rows[0]["port"], rows[1]["port"])
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=15)
    assert process.returncode == 0


def test_bad_options_are_listed_and_nothing_listens(simulate: Any) -> None:
    process = simulate("--meters", "0", "--host", "10.0.0.1", "--transport", "hdlc")
    _, errors = process.communicate(timeout=30)
    assert process.returncode == 1
    assert "host 10.0.0.1 is not a loopback address" in errors and "a fleet has 1-100000 meters, not 0" in errors


def test_a_port_in_use_is_reported(simulate: Any) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = simulate("--meters", "1", "--base-port", str(port))
        _, errors = process.communicate(timeout=30)
    assert process.returncode == 1 and "cannot listen" in errors


def _endpoints(fleet: FleetSpec) -> dict[str, Endpoint]:
    """Where the meters of a fleet with fixed ports would listen."""
    return {meter.meter_number: Endpoint(meter.host, meter.port) for meter in fleet.meters}


async def test_the_csv_imports_into_the_hes(client: AsyncClient, operator: dict[str, str]) -> None:
    fleet = fleet_from_options(4, brand="idis", transport="hdlc", base_port=4100)
    rows = meter_rows(fleet, _endpoints(fleet))
    lines = [",".join(METER_COLUMNS)] + [",".join(row[column] for column in METER_COLUMNS) for row in rows]
    upload = ("\n".join(lines) + "\n").encode()

    answer = await client.post(
        "/api/meters/import", files={"file": ("fleet.csv", upload, "text/csv")}, headers=operator
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["imported"] == 4 and answer.json()["failed"] == 0


@pytest.mark.parametrize(("brand", "transport", "auth"), [("hexing", "wrapper", "hls"), ("hexcell", "hdlc", "lls")])
async def test_the_secrets_are_what_the_meters_api_takes(
    client: AsyncClient, operator: dict[str, str], brand: str, transport: str, auth: str
) -> None:
    fleet = fleet_from_options(2, brand=brand, transport=transport, auth=auth, base_port=4100)
    for meter in secrets_document(fleet, _endpoints(fleet))["meters"]:
        body = {"meterNumber": meter["meterNumber"], "ipAddress": meter["ipAddress"], "port": meter["port"]}
        answer = await client.post("/api/meters", json={**body, "dlms": meter["dlms"]}, headers=operator)
        assert answer.status_code == 201, answer.text
        dlms = answer.json()["dlms"]
        assert dlms["systemTitle"] == meter["dlms"]["systemTitle"] and dlms["transport"] == transport
        assert dlms["hasBlockCipherKey"] == dlms["hasAuthenticationKey"] == (auth == "hls")
        assert dlms["hasPassword"] == (auth == "lls")
        assert dlms["physicalAddress"] == (meter["dlms"]["physicalAddress"] if transport == "hdlc" else None)


async def _file(path: Path, process: subprocess.Popen[str]) -> Any:
    """The JSON in `path` once the process wrote it (without blocking the event loop)."""
    async with asyncio.timeout(_STARTUP_SECONDS):
        while not path.exists():
            if process.poll() is not None:
                pytest.fail(f"hes simulate exited with {process.returncode}: {process.communicate()[1]}")
            await asyncio.sleep(0.05)
    return json.loads(path.read_text())


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    output, errors = process.communicate(timeout=15)
    assert process.returncode == 0, errors
    return output


async def test_hes_simulate_dial_in_meters_call_the_hes_and_answer_on_that_socket(
    simulate: Any, tmp_path: Path
) -> None:
    connections: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    hes = await asyncio.start_server(lambda r, w: connections.put_nowait((r, w)), "127.0.0.1", 0)
    port = hes.sockets[0].getsockname()[1]
    try:
        process = simulate(
            "--meters", "2", "--auth", "lls", "--seed", "31", "--mode", "dial-in", "--hes-port", str(port),
            "--secrets-json", "secrets.json",
        )  # fmt: skip
        secrets = {meter["meterNumber"]: meter for meter in (await _file(tmp_path / "secrets.json", process))["meters"]}
        assert {(meter["ipAddress"], meter["port"]) for meter in secrets.values()} == {(None, None)}
        async with asyncio.timeout(_STARTUP_SECONDS):
            reader, writer = await connections.get()
            announcement = await reader.read(4096)
        name = bytes(decode(announcement).value[1])  # FLAG id + meter number
        meter = secrets[name[3:].decode()]
        peer = GuruxPeer(_client_from_secrets(meter), StreamWire(reader, writer))
        await peer.associate()
        serial = GXDLMSData("0.0.96.1.0.255")
        await peer.read(serial, 2)
        assert bytes(serial.value).decode() == meter["meterNumber"]
        await peer.release()
        assert f"simulating 2 meters dialling 127.0.0.1:{port}" in _stop(process)
    finally:
        hes.close()
        await hes.wait_closed()


async def test_hes_simulate_push_mode_pushes_and_faults_are_in_the_secrets(simulate: Any, tmp_path: Path) -> None:
    frames: asyncio.Queue[bytes] = asyncio.Queue()

    async def receive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        frames.put_nowait(await reader.read())
        writer.close()

    listener = await asyncio.start_server(receive, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        process = simulate(
            "--meters", "4", "--brand", "idis", "--auth", "lls", "--base-port", "0", "--mode", "push",
            "--push-port", str(port), "--push-interval-s", "0.5", "--faults", "0.5", "--secrets-json", "secrets.json",
        )  # fmt: skip
        secrets = (await _file(tmp_path / "secrets.json", process))["meters"]
        assert sum(1 for meter in secrets if meter["faults"]) == 2
        async with asyncio.timeout(_STARTUP_SECONDS):
            frame = await frames.get()
        values = decode(frame).value
        assert bytes(values[0]) == bytes((0, 0, 25, 9, 0, 255))
        assert bytes(values[1])[3:].decode() in {meter["meterNumber"] for meter in secrets}
        output = _stop(process)
        assert f"pushing to 127.0.0.1:{port}" in output and "2 meters with faults" in output
    finally:
        listener.close()
        await listener.wait_closed()


@pytest.mark.parametrize(
    ("options", "problems"),
    [
        (("--mode", "push", "--push-host", "10.0.0.1"), ["push host 10.0.0.1 is not a loopback address"]),
        (("--faults", "2", "--fault", "warp=0.1"), ["--faults is a share from 0 to 1, not 2.0", "fault kind 'warp'"]),
    ],
)
def test_bad_modes_and_faults_are_refused(simulate: Any, options: tuple[str, ...], problems: list[str]) -> None:
    process = simulate("--meters", "1", "--base-port", "0", *options)
    _, errors = process.communicate(timeout=30)
    assert process.returncode == 1
    assert all(problem in errors for problem in problems), errors
