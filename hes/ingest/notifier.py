"""Telling listeners about stored batches, in order, off the writers' path.

A writer hands each committed batch to the notifier and goes on to the next transaction; one task builds
the `StoredBatch` and calls the listeners (real-time fan-out, alert rules) in commit order of hand-over.
The hand-over queue is short: listeners that fall behind slow the writers down (and, through the ingest
queue, the senders), so nothing is dropped and memory stays bounded.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import DBAPIError

from hes.ingest import batch as batches
from hes.ingest.batch import Submission, Written
from hes.ingest.meter_directory import MeterDirectory
from hes.ingest.records import IngestListener

logger = logging.getLogger(__name__)

# Batches waiting for their listeners; a writer handing over one more waits.
_PENDING_BATCHES = 4


class Notifier:
    """Listeners of stored batches, and the task that tells them."""

    def __init__(self, directory: MeterDirectory) -> None:
        self._directory = directory
        self._listeners: list[IngestListener] = []
        self._pending: asyncio.Queue[tuple[list[Submission], Written] | None] = asyncio.Queue(_PENDING_BATCHES)
        self._task: asyncio.Task[None] | None = None

    def subscribe(self, listener: IngestListener) -> None:
        """Tell `listener` about every batch stored from now on."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: IngestListener) -> None:
        """Stop telling `listener`."""
        self._listeners.remove(listener)

    async def hand_over(self, taken: list[Submission], written: Written) -> None:
        """Queue a committed batch for the listeners (waits while the notifier is behind)."""
        if not self._listeners:
            return
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="hes-ingest-notifier")
        await self._pending.put((taken, written))

    async def settled(self) -> None:
        """Return once the listeners have been told about every batch handed over so far."""
        await self._pending.join()

    async def close(self) -> None:
        """Tell the listeners about what is queued, then stop."""
        if self._task is not None and not self._task.done():
            await self._pending.put(None)
            await self._task
        self._task = None

    async def _run(self) -> None:
        while (item := await self._pending.get()) is not None:
            try:
                await self._tell(*item)
            finally:
                self._pending.task_done()
        self._pending.task_done()

    async def _tell(self, taken: list[Submission], written: Written) -> None:
        try:
            meters = await self._directory.by_ids(written.touched)
        except (DBAPIError, OSError) as error:
            logger.warning("listeners not told about a stored batch: meter lookup failed: %s", error)
            return
        stored = batches.stored_batch(taken, written, meters)
        for listener in list(self._listeners):
            try:
                await listener.batch_stored(stored)
            except Exception:
                logger.exception("ingest listener %r failed; ingest goes on", listener)
