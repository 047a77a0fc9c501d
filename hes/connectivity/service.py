"""Connectivity: the one object the app starts and stops, through which everything reaches meters over DLMS.

    connectivity = Connectivity.from_runtime(runtime)   # in the lifespan, after the Ingestor exists
    await connectivity.start()
    scheduler jobs += connectivity.periodic_jobs()      # the polling tick and the daily gap detection
    handles = await connectivity.collect([meter_id], [CollectionKind.REGISTERS])
    values = await connectivity.read(target, codes)     # on-demand (see hes.connectivity.on_demand)
    handle = connectivity.submit(target, MeterJob(...)) # remote operations: any coroutine given a session
    await connectivity.stop()

The polling tick and gap detection are hes.jobs Jobs rather than tasks of this object: on PostgreSQL a Job's slot
runs on one instance only (advisory lock), so two HES instances never both enqueue a polling wave; the instance
that runs a slot collects those meters (and dial-in meters connected elsewhere are skipped there, not failed).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hes.connectivity import polling
from hes.connectivity.catalogue import POLL_PRIORITY, CollectionKind, Priority
from hes.connectivity.channels import DialInStreams, SessionOpener
from hes.connectivity.collection import Collected, Collector, MeterValue, applies_to
from hes.connectivity.collection_plan import event_starts, profile_starts
from hes.connectivity.dispatcher import Dispatcher, DispatcherStats
from hes.connectivity.dlms import ClientLimits, DlmsSession
from hes.connectivity.errors import ConnectivityUnavailable, QueueFull
from hes.connectivity.invocation_counters import InvocationCounters
from hes.connectivity.job_queue import AfterSession, JobHandle, MeterJob
from hes.connectivity.meter_links import ACTIVE_STATUSES, POLLED_MODES, Channel, MeterTarget
from hes.connectivity.profile_gaps import find_gaps
from hes.connectivity.settings import ConnectivitySettings
from hes.connectivity.visit_records import VisitRecorder
from hes.db.store import meter_links
from hes.ingest.ingestor import Ingestor
from hes.jobs import Job, JobContext
from hes.obis.codes import ObisCode
from hes.runtime import Runtime
from hes.security.secret_box import SecretBox

__all__ = ["GAP_DETECTION_AT", "Connectivity"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

GAP_DETECTION_AT = time(4, 0)  # UTC: after the night's daily profile collections, before the working day
_GAP_METERS_PER_QUERY = 1_000
_EDGE = timedelta(seconds=1)  # a re-collection range reaches just past its first and last missing interval


class Connectivity:
    """Meter sessions for HES Core: the job queue, collection, polling, gap detection and on-demand reads."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        ingestor: Ingestor,
        box: SecretBox,
        settings: ConnectivitySettings,
        *,
        dial_in: DialInStreams | None = None,
        limits: ClientLimits | None = None,
    ) -> None:
        self.settings = settings
        self._sessions = sessions
        self.counters = InvocationCounters(sessions)
        self.opener = SessionOpener(
            box, self.counters, settings.timeouts, settings.client_system_title, dial_in=dial_in, limits=limits
        )
        self.recorder = VisitRecorder(
            sessions, ingestor, interval=settings.record_interval, batch=settings.record_batch
        )
        self.dispatcher = Dispatcher(self.opener, settings, on_visit=self.recorder.record)
        self.collector = Collector(ingestor, settings.clock_drift)

    @classmethod
    def from_runtime(cls, runtime: Runtime, *, dial_in: DialInStreams | None = None) -> Connectivity:
        """Connectivity on the runtime's database, ingest path and data key, with its settings."""
        settings = ConnectivitySettings.from_settings(runtime.settings)
        return cls(runtime.sessions, runtime.ingestor, runtime.secret_box, settings, dial_in=dial_in)

    @property
    def dial_in(self) -> DialInStreams | None:
        """The dial-in listener's sockets (None: dial-in meters are not reachable)."""
        return self.opener.dial_in

    @dial_in.setter
    def dial_in(self, streams: DialInStreams | None) -> None:
        self.opener.dial_in = streams

    @property
    def running(self) -> bool:
        """Whether jobs are taken."""
        return self.dispatcher.running

    @property
    def stats(self) -> DispatcherStats:
        """The dispatcher's counts and load."""
        return self.dispatcher.stats

    async def start(self) -> None:
        """Start the dispatcher and the writer of attempt outcomes."""
        await self.recorder.start()
        await self.dispatcher.start()
        logger.info(
            "meter connectivity started: at most %d sessions, %d per target, %.0f new connections/s",
            self.settings.max_sessions, self.settings.max_sessions_per_target, self.settings.connections_per_second,
        )  # fmt: skip

    async def stop(self) -> None:
        """End every session, fail the jobs still queued, write the outcomes still buffered."""
        await self.dispatcher.stop()
        await self.recorder.stop()

    def periodic_jobs(self) -> list[Job]:
        """The polling tick and the daily load-profile gap detection, for the hes.jobs Scheduler."""
        tick = timedelta(seconds=self.settings.poll_tick)
        return [
            Job("dlms-polling", self._poll, interval=tick),
            Job("profile-gaps", self._gap_job, interval=timedelta(days=1), daily_at=GAP_DETECTION_AT),
        ]

    def submit(self, target: MeterTarget, job: MeterJob[T]) -> JobHandle[T]:
        """Queue any job for a meter (remote operations use this); see Dispatcher.submit."""
        return self.dispatcher.submit(target, job)

    async def targets(self, meter_ids: Iterable[int]) -> list[MeterTarget]:
        """The meters' current targets (ids no meter has are left out)."""
        async with self._sessions() as session:
            rows = await meter_links.link_rows(session, list(meter_ids))
        return [MeterTarget.from_row(row, self.settings.default_port) for row in rows]

    async def read(self, target: MeterTarget, codes: Sequence[ObisCode]) -> list[MeterValue]:
        """Read `codes` from the meter now, ahead of polling; values are also stored.

        Raises:
            ConnectivityUnavailable: not running, or the queue is full.
            TimeoutError: no answer within `read_timeout` (the read is withdrawn if it had not started).
            DlmsError, ChannelError: the session or the read failed.
        """

        async def work(session: DlmsSession) -> AfterSession[list[MeterValue]]:
            return await self.collector.read_now(session, target, codes)

        job: MeterJob[list[MeterValue]] = MeterJob(
            "read", work, priority=Priority.ON_DEMAND, retries=self.settings.on_demand_retries
        )
        try:
            handle = self.dispatcher.submit(target, job)
        except QueueFull as full:
            raise ConnectivityUnavailable("the meter job queue is full; retry shortly") from full
        try:
            async with asyncio.timeout(self.settings.read_timeout):
                return await handle.result()
        except TimeoutError:
            handle.cancel()
            raise

    async def collect(
        self,
        meter_ids: Iterable[int],
        kinds: Iterable[CollectionKind],
        *,
        priority: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[JobHandle[Collected]]:
        """Queue collections of `kinds` from these meters; profiles from `start`, else from what is stored.

        Polling calls this for each wave: jobs for a meter and kind already waiting are not queued twice. Meters
        without a DLMS channel and kinds a brand has nothing for are skipped; past `max_queued_jobs` the rest
        of the wave is dropped (logged) and polled next time.
        """
        wanted = sorted(set(kinds), key=lambda kind: -POLL_PRIORITY[kind])
        now = datetime.now(UTC)
        window = self.settings.gap_window
        starts: dict[CollectionKind, dict[int, datetime]] = {}
        async with self._sessions() as session:
            rows = await meter_links.link_rows(session, list(meter_ids))
            targets = [MeterTarget.from_row(row, self.settings.default_port) for row in rows]
            targets = [target for target in targets if target.channel is not Channel.NONE]
            if start is None and CollectionKind.LOAD_PROFILE in wanted:
                starts[CollectionKind.LOAD_PROFILE] = await profile_starts(session, targets, now, window)
            if start is None and CollectionKind.EVENTS in wanted:
                starts[CollectionKind.EVENTS] = await event_starts(session, targets, now, window)
        handles: list[JobHandle[Collected]] = []
        for target in targets:
            for kind in wanted:
                if not applies_to(kind, target.brand):
                    continue
                begin = start if start is not None else starts.get(kind, {}).get(target.meter_id)
                job = self.collector.job(
                    target,
                    kind,
                    priority=POLL_PRIORITY[kind] if priority is None else priority,
                    retries=self.settings.retries,
                    start=begin,
                    end=end,
                    key=None if start is not None else f"poll:{kind.value}",
                )
                try:
                    handles.append(self.dispatcher.submit(target, job))
                except QueueFull:
                    logger.warning("job queue full: %d collections of this wave not queued", len(targets))
                    return handles
        return handles

    async def recollect_gaps(self, now: datetime | None = None) -> int:
        """Find load-profile gaps of every polled meter and queue their re-collection; the number of ranges."""
        now = now or datetime.now(UTC)
        async with self._sessions() as session:
            meter_ids = await meter_links.meter_ids(session, modes=POLLED_MODES, statuses=ACTIVE_STATUSES)
        queued = 0
        for first in range(0, len(meter_ids), _GAP_METERS_PER_QUERY):
            targets = await self.targets(meter_ids[first : first + _GAP_METERS_PER_QUERY])
            async with self._sessions() as session:
                gaps = await find_gaps(session, targets, now, self.settings.gap_window, self.settings.gap_max_intervals)
            for target in targets:
                for gap in gaps.get(target.meter_id, ()):
                    job = self.collector.job(
                        target,
                        CollectionKind.LOAD_PROFILE,
                        priority=Priority.RECOLLECT,
                        retries=self.settings.retries,
                        start=gap.start - _EDGE,
                        end=gap.end + _EDGE,
                    )
                    try:
                        self.dispatcher.submit(target, job)
                    except QueueFull:
                        logger.warning("job queue full: gap re-collection stopped after %d ranges", queued)
                        return queued
                    queued += 1
        logger.info("load-profile gaps: %d ranges queued for re-collection", queued)
        return queued

    async def poll(self, slot: datetime) -> int:
        """Queue the collections due in the tick starting at `slot`; the number of jobs queued."""
        async with self._sessions() as session:
            due = await polling.due_collections(session, self.settings.polling_groups, slot, self.settings.poll_tick)
        queued = 0
        for kinds, meter_ids in due.items():
            queued += len(await self.collect(meter_ids, kinds))
        if queued:
            logger.info("polling tick %s: %d collections queued", slot.isoformat(), queued)
        return queued

    async def _poll(self, context: JobContext) -> None:
        if self.running:
            await self.poll(context.slot)

    async def _gap_job(self, context: JobContext) -> None:
        if self.running:
            await self.recollect_gaps()
