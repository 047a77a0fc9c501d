"""No acknowledged reading is lost: kill -9 of `hes serve` mid-stream, and PostgreSQL cut off mid-ingest.

Both run on the real PostgreSQL (a database of their own). The shared server is never stopped: the outage is
a TCP proxy between HES and PostgreSQL that the test cuts and restores.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from hes.app import create_app
from hes.config import Settings
from hes.db.tables import Reading
from hes.runtime import Runtime
from tests.ingest.fleet import START, add_meters, bearer, device_token, readings

URL = "/api/meters/data-ingestion"
BATCH = 50  # readings per request
BATCHES = 40


@pytest.fixture
def postgresql(runtime: Runtime) -> Runtime:
    """The runtime, on PostgreSQL only."""
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("durability is proven on PostgreSQL, the production database")
    return runtime


def _body(batch: int) -> dict[str, object]:
    """Batch `batch`: BATCH readings no other batch has (its own quarter-hours)."""
    return {"readings": readings("DUR-1", BATCH, first=batch * BATCH)}


async def _stored_per_batch(runtime: Runtime) -> dict[int, int]:
    """Readings stored, by the batch they came in."""
    async with runtime.sessions() as session:
        rows = await session.execute(select(Reading.ts, func.count()).group_by(Reading.ts))
        per_batch: dict[int, int] = {}
        for moment, count in rows.tuples():
            batch = int((moment - START) / timedelta(minutes=15)) // BATCH
            per_batch[batch] = per_batch.get(batch, 0) + count
    return per_batch


@dataclass
class Tally:
    """What the senders heard back, per batch."""

    acknowledged: set[int] = field(default_factory=set)
    refused: list[int] = field(default_factory=list)  # 503 answers (each re-sent later)
    lost_answers: set[int] = field(default_factory=set)  # no answer at all (connection died)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(settings: Settings, port: int, var_dir: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": settings.resolved_database_url,
        "HES_ENV": "test",
        "HES_VAR_DIR": str(var_dir),
        "JWT_SECRET": settings.jwt_secret,
        "HES_DATA_KEY": settings.data_key,
        "HES_LOG_LEVEL": "WARNING",
    }
    command = [str(Path(sys.executable).parent / "hes"), "serve", "--no-migrate", "--host", "127.0.0.1"]
    log = (var_dir / "serve.log").open("ab")
    return subprocess.Popen([*command, "--port", str(port)], env=env, cwd=var_dir, stdout=log, stderr=log)


async def _ready(client: httpx.AsyncClient, process: subprocess.Popen[bytes]) -> None:
    while process.poll() is None:
        with contextlib.suppress(httpx.TransportError):
            if (await client.get("/health")).status_code == 200:
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"hes serve exited with {process.returncode}")


async def test_kill_9_mid_stream_loses_no_acknowledged_batch(
    postgresql: Runtime, settings: Settings, tmp_path: Path
) -> None:
    meter = (await add_meters(postgresql, ["DUR-1"]))["DUR-1"]
    headers = bearer(await device_token(postgresql, meter))
    port = _free_port()
    tally = Tally()
    half_done = asyncio.Event()
    queue = list(range(BATCHES))

    async def sender(client: httpx.AsyncClient) -> None:
        while queue:
            batch = queue.pop(0)
            try:
                answer = await client.post(URL, json=_body(batch), headers=headers)
            except httpx.TransportError:
                tally.lost_answers.add(batch)
                return  # the server is gone
            assert answer.status_code == 202, answer.text
            tally.acknowledged.add(batch)
            if len(tally.acknowledged) >= BATCHES // 2:
                half_done.set()

    server = _serve(settings, port, tmp_path)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            await _ready(client, server)
            senders = [asyncio.create_task(sender(client)) for _ in range(4)]
            await half_done.wait()
            os.kill(server.pid, signal.SIGKILL)  # mid-stream: other requests are in flight
            await asyncio.gather(*senders)
    finally:
        server.kill()
        server.wait()

    stored = await _stored_per_batch(postgresql)
    assert {batch: stored.get(batch) for batch in tally.acknowledged} == dict.fromkeys(tally.acknowledged, BATCH)

    # Restarted, every batch is sent again: acknowledged ones come back as duplicates, each batch all or nothing.
    server = _serve(settings, port, tmp_path)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            await _ready(client, server)
            for batch in range(BATCHES):
                result = (await client.post(URL, json=_body(batch), headers=headers)).json()
                assert (result["accepted"], result["duplicates"]) in ((BATCH, 0), (0, BATCH)), result
                if batch in tally.acknowledged:
                    assert result["duplicates"] == BATCH
    finally:
        server.terminate()
        server.wait()
    assert await _stored_per_batch(postgresql) == dict.fromkeys(range(BATCHES), BATCH)


class CuttableProxy:
    """A TCP proxy to PostgreSQL that can be cut (every connection dropped, new ones refused) and restored."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> None:
        """Listen (on an ephemeral port the first time, the same port after a cut)."""
        self._server = await asyncio.start_server(self._link, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Drop every connection and stop listening: PostgreSQL is unreachable."""
        assert self._server is not None
        self._server.close()
        for writer in list(self._links):
            writer.transport.abort()
        await self._server.wait_closed()

    async def _link(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(*self._target)
        self._links |= {client_writer, server_writer}

        async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            writer.transport.abort()
            self._links.discard(writer)

        await asyncio.gather(pump(client_reader, server_writer), pump(server_reader, client_writer))


@pytest.fixture
async def proxied(postgresql: Runtime, settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, CuttableProxy]]:
    """The app in-process, talking to PostgreSQL through a proxy the test can cut."""
    target = make_url(settings.resolved_database_url)
    proxy = CuttableProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.start()
    url = target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    # A new Settings, not model_copy: the resolved database URL is cached on the instance.
    through_proxy = Settings(
        **{**settings.model_dump(), "database_url": url, "ingest_write_timeout_seconds": 5.0}, _env_file=None
    )
    application = create_app(through_proxy)
    transport = httpx.ASGITransport(app=application)
    async with (
        LifespanManager(application, startup_timeout=30, shutdown_timeout=60),
        httpx.AsyncClient(transport=transport, base_url="http://hes.test") as client,
    ):
        yield client, proxy
    with contextlib.suppress(AssertionError):
        await proxy.cut()


async def test_database_cut_off_mid_ingest_answers_503_and_loses_nothing(
    postgresql: Runtime, proxied: tuple[httpx.AsyncClient, CuttableProxy]
) -> None:
    client, proxy = proxied
    meter = (await add_meters(postgresql, ["DUR-1"]))["DUR-1"]
    headers = bearer(await device_token(postgresql, meter))
    tally = Tally()
    batches = BATCHES * 4  # enough that the senders are still busy when the cut comes
    queue = list(range(batches))
    some_acknowledged, some_refused = asyncio.Event(), asyncio.Event()

    async def sender() -> None:
        while queue:
            batch = queue.pop(0)
            answer = await client.post(URL, json=_body(batch), headers=headers)
            if answer.status_code == 503:
                assert answer.headers["Retry-After"].isdigit()
                assert answer.json()["error"]["code"] in ("database_unavailable", "overloaded")
                tally.refused.append(batch)
                some_refused.set()
                queue.append(batch)  # re-sent later, as a device would
                await asyncio.sleep(0.05)
                continue
            assert answer.status_code == 202, answer.text
            tally.acknowledged.add(batch)
            if len(tally.acknowledged) >= 5:
                some_acknowledged.set()

    senders = [asyncio.create_task(sender()) for _ in range(4)]
    async with asyncio.timeout(120):  # a guard against a hang, not a measurement
        await some_acknowledged.wait()
        await proxy.cut()  # PostgreSQL gone, with requests in flight
        await some_refused.wait()
        acknowledged_before = set(tally.acknowledged)
        await asyncio.sleep(0.3)
        await proxy.start()  # back
        await asyncio.gather(*senders)

    assert tally.refused
    assert acknowledged_before < tally.acknowledged == set(range(batches))
    assert await _stored_per_batch(postgresql) == dict.fromkeys(range(batches), BATCH)
