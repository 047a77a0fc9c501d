"""Opening a DLMS session with a meter over its channel: a TCP connection out, or the socket it dialled in on.

Outbound meters get `DlmsSession.connect` to their own address or their SIM's (default port 4059). Dial-in meters
get `DlmsSession.over_stream` on the connection they hold open to HES Core, leased from the dial-in listener
(`DialInStreams`) for the session and kept open afterwards. A ciphered meter that refuses the association is
asked for its frame counter as the public client (hes.connectivity.dlms.read_frame_counter); when that shows the
counter was behind, the association is tried once more from the meter's counter. Every new TCP connection first
takes a token from the dispatcher's connection-rate limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Protocol

from hes.connectivity.dlms import (
    AssociationRejected,
    ClientLimits,
    DlmsError,
    DlmsSession,
    DlmsTimeout,
    MeterLink,
    Timeouts,
    read_frame_counter,
)
from hes.connectivity.errors import NoChannel, NotConnected
from hes.connectivity.invocation_counters import InvocationCounters
from hes.connectivity.meter_links import Channel, MeterTarget
from hes.security.secret_box import SecretBox

__all__ = ["ConnectionToken", "DialInStreams", "SessionOpener"]

logger = logging.getLogger(__name__)

# Awaited before each new TCP connection to a meter (the connection-rate limit).
ConnectionToken = Callable[[], Awaitable[None]]


class DialInStreams(Protocol):
    """The sockets dial-in meters hold open to HES Core (implemented by the dial-in listener)."""

    def lease(
        self, meter_id: int
    ) -> contextlib.AbstractAsyncContextManager[tuple[asyncio.StreamReader, asyncio.StreamWriter]] | None:
        """The open socket of a dial-in meter, held exclusively for one session; None when it is not connected."""


class SessionOpener:
    """Opens sessions with meters over their channel; keeps their invocation counters."""

    def __init__(
        self,
        box: SecretBox,
        counters: InvocationCounters,
        timeouts: Timeouts,
        client_system_title: bytes,
        *,
        dial_in: DialInStreams | None = None,
        limits: ClientLimits | None = None,
    ) -> None:
        self._box = box
        self._counters = counters
        self._timeouts = timeouts
        self._title = client_system_title
        self._limits = limits
        self.dial_in = dial_in

    @contextlib.asynccontextmanager
    async def open(self, target: MeterTarget, token: ConnectionToken) -> AsyncIterator[DlmsSession]:
        """An associated session with `target` for the block; released (and its counter kept) on leaving it.

        Raises:
            NoChannel: the meter has no DLMS channel. NotConnected: a dial-in meter not connected now.
            DlmsError: the connection or the association failed (hes.connectivity.dlms.errors).
            ValueError: a stored secret that cannot be opened or DLMS settings a link refuses.
        """
        channel = target.channel
        if channel is Channel.NONE:
            raise NoChannel(f"meter {target.meter_number} has no DLMS channel ({target.connection_mode})")
        counter = await self._counters.take(target) if target.ciphered else 0
        link = target.link(self._box, self._title, counter)
        if channel is Channel.DIAL_IN:
            lease = self.dial_in.lease(target.meter_id) if self.dial_in is not None else None
            if lease is None:
                raise NotConnected(f"dial-in meter {target.meter_number} is not connected")
            async with contextlib.AsyncExitStack() as stack:
                try:  # another session (the listener's own) may hold the socket: wait as for a connection
                    async with asyncio.timeout(self._timeouts.connect):
                        reader, writer = await stack.enter_async_context(lease)
                except TimeoutError:
                    raise DlmsTimeout(f"the socket of meter {target.meter_number} stayed busy") from None
                opening = DlmsSession.over_stream(
                    link, reader, writer, self._timeouts, limits=self._limits, close_stream=False
                )
                session = await self._associate(link, opening)
                async with self._kept(session):
                    yield session
            return
        session = await self._connect(target, link, token)
        async with self._kept(session):
            yield session

    @contextlib.asynccontextmanager
    async def _kept(self, session: DlmsSession) -> AsyncIterator[None]:
        try:
            async with session:
                yield
        finally:
            if session.link.ciphered:
                self._counters.used(session.link.meter_id, session.invocation_counter)

    async def _associate(self, link: MeterLink, opening: Awaitable[DlmsSession]) -> DlmsSession:
        try:
            return await opening
        except DlmsError:
            if link.ciphered:
                self._counters.failed(link.meter_id, link.invocation_counter)
            raise

    async def _connect(self, target: MeterTarget, link: MeterLink, token: ConnectionToken) -> DlmsSession:
        await token()
        try:
            return await self._associate(link, DlmsSession.connect(link, self._timeouts, limits=self._limits))
        except AssociationRejected as rejected:
            if not link.ciphered or not await self._caught_up(target, link, token):
                raise
            logger.info("meter %s: invocation counter was behind; associating again", link.meter_number)
            counter = await self._counters.take(target)
            again = replace(link, invocation_counter=counter)
            await token()
            try:
                return await self._associate(again, DlmsSession.connect(again, self._timeouts, limits=self._limits))
            except DlmsError as error:
                raise error from rejected

    async def _caught_up(self, target: MeterTarget, link: MeterLink, token: ConnectionToken) -> bool:
        """Read the meter's frame counter as the public client; True when ours was behind it (now moved past)."""
        await token()
        try:
            shown = await read_frame_counter(link, self._timeouts, limits=self._limits)
        except DlmsError as error:
            logger.info("meter %s: frame counter not readable: %r", link.meter_number, error)
            return False
        # Meters show the last counter they accepted or the next one they accept: ours was behind only when the
        # value is above it (else a wrong key or password was refused), and one above the value suits both kinds.
        if shown <= link.invocation_counter:
            return False
        self._counters.used(target.meter_id, shown + 1)
        return True
