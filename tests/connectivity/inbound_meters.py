"""Test helpers for meters that connect to the HES: simulated meters on record, the inbound port running, and what
ended up in the database (shared by the dial-in and push receiver tests)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from hes.connectivity.dial_in import DialInServer, DialInSettings
from hes.connectivity.dlms import Timeouts
from hes.connectivity.push_receiver import PushReceiver
from hes.db.enums import ConnectionMode, DlmsAuthentication, DlmsTransport, MeterStatus
from hes.db.store.reading_flags import unpack
from hes.db.tables import Event, Meter, Reading
from hes.db.tables import ObisCode as ObisRow
from hes.runtime import Runtime
from hes.simulator.fleet import MeterSpec

WAIT = 10.0  # seconds a test waits for something to happen before failing instead of hanging
TIMEOUTS = Timeouts(connect=5, response=5, release=2)


@dataclass(frozen=True, slots=True)
class StoredReading:
    """A reading as stored, with its OBIS code as text."""

    obis: str
    ts: datetime
    value: float
    source: int


async def register(
    runtime: Runtime,
    specs: Sequence[MeterSpec],
    *,
    mode: ConnectionMode = ConnectionMode.DIAL_IN,
    status: MeterStatus = MeterStatus.INSTALLED,
) -> dict[str, int]:
    """The simulated meters on record as the HES keeps them (secrets sealed); their ids by number."""
    box = runtime.secret_box

    def sealed(secret: bytes | None) -> bytes | None:
        return box.seal(secret) if secret is not None else None

    meters = [
        Meter(
            meter_number=spec.meter_number,
            brand=spec.brand_info.name,
            status=status,
            connection_mode=mode,
            dlms_transport=DlmsTransport(spec.transport.value),
            dlms_client_address=spec.client_sap,
            dlms_physical_address=spec.physical_address,
            dlms_authentication=DlmsAuthentication(spec.authentication.value),
            dlms_system_title=spec.system_title.hex().upper(),
            dlms_password_enc=sealed(spec.lls_password),
            dlms_authentication_key_enc=sealed(spec.authentication_key),
            dlms_block_cipher_key_enc=sealed(spec.encryption_key),
        )
        for spec in specs
    ]
    async with runtime.sessions() as session:
        session.add_all(meters)
        await session.commit()
        return {meter.meter_number: meter.id for meter in meters}


async def meter(runtime: Runtime, meter_id: int) -> Meter:
    """The meter's row as it is now."""
    async with runtime.sessions() as session:
        row = await session.get(Meter, meter_id)
        assert row is not None
        return row


async def readings(runtime: Runtime, meter_id: int) -> list[StoredReading]:
    """The meter's stored readings, oldest first."""
    query = (
        select(ObisRow.code, Reading.ts, Reading.value, Reading.flags)
        .join(ObisRow, ObisRow.id == Reading.obis_id)
        .where(Reading.meter_id == meter_id)
        .order_by(Reading.ts)
    )
    async with runtime.sessions() as session:
        rows = (await session.execute(query)).tuples()
        return [StoredReading(code, ts, value, unpack(flags)[1]) for code, ts, value, flags in rows]


async def events(runtime: Runtime, meter_id: int) -> list[Event]:
    """The meter's stored events, oldest first."""
    async with runtime.sessions() as session:
        found = await session.scalars(select(Event).where(Event.meter_id == meter_id).order_by(Event.id))
        return list(found)


async def event_types(runtime: Runtime, meter_id: int) -> list[str]:
    """The types of the meter's stored events, oldest first."""
    return [event.event_type for event in await events(runtime, meter_id)]


async def eventually(check: Callable[[], Awaitable[Any]], what: str) -> Any:
    """Wait until `check()` returns something truthy (and return it); fail after WAIT seconds."""
    try:
        async with asyncio.timeout(WAIT):
            while not (result := await check()):
                await asyncio.sleep(0.02)
            return result
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None


@contextlib.asynccontextmanager
async def inbound_port(runtime: Runtime, **options: Any) -> AsyncIterator[DialInServer]:
    """The inbound meter port on a free loopback port, with a push receiver storing through the runtime's ingest."""
    settings = {"announcement_timeout": 2.0, "handover_timeout": 2.0, "session_timeouts": TIMEOUTS, **options}
    receiver = PushReceiver(
        runtime.sessions, runtime.ingestor, runtime.secret_box, cache_seconds=0.0, note_interval=0.0
    )
    server = DialInServer(DialInSettings(host="127.0.0.1", port=0, **settings), receiver)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


async def send(port: int, data: bytes, *, hang_up: bool = True) -> bytes:
    """Connect to the inbound port, send `data`, and return what comes back until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        if hang_up:
            writer.write_eof()
        async with asyncio.timeout(WAIT):
            return await reader.read()
    finally:
        writer.close()
