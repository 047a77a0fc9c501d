"""The long-lived objects of one HES process, created in the app lifespan and passed in (no globals)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hes.config import Settings
from hes.db.engine import make_engine, make_session_factory
from hes.ingest.ingestor import Ingestor, IngestSettings
from hes.ingest.meter_directory import MeterDirectory, plausible_meter_number
from hes.ingest.obis_catalogue import ObisCatalogue
from hes.security.rate_limit import LoginRateLimiter
from hes.security.secret_box import SecretBox
from hes.services.device_tokens import DeviceTokenCache


@dataclass
class Runtime:
    """Settings plus the engine, session factory, secret box, rate limiter, ingest path and caches built from them."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    secret_box: SecretBox
    login_limiter: LoginRateLimiter
    ingestor: Ingestor
    device_tokens: DeviceTokenCache

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        """Build every long-lived object from settings."""
        engine = make_engine(settings.resolved_database_url)
        sessions = make_session_factory(engine)
        directory = MeterDirectory(sessions, ttl=settings.meter_cache_seconds, plausible_number=plausible_meter_number)
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            secret_box=SecretBox(settings.resolved_data_key),
            login_limiter=LoginRateLimiter(settings.login_rate_limit, settings.rate_limit_storage_url),
            ingestor=Ingestor(sessions, IngestSettings.from_settings(settings), directory, ObisCatalogue(sessions)),
            device_tokens=DeviceTokenCache(settings.device_token_cache_seconds),
        )

    async def close(self) -> None:
        """Write what the ingest path still holds, then release the rate limiter and database connections."""
        await self.ingestor.close()
        self.login_limiter.close()
        await self.engine.dispose()
