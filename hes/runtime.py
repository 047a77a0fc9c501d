"""The long-lived objects of one HES process, created in the app lifespan and passed in (no globals)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hes.config import Settings
from hes.db.engine import make_engine, make_session_factory
from hes.security.rate_limit import LoginRateLimiter
from hes.security.secret_box import SecretBox


@dataclass
class Runtime:
    """Settings plus the engine, session factory, secret box and rate limiter built from them."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    secret_box: SecretBox
    login_limiter: LoginRateLimiter

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        """Build every long-lived object from settings."""
        engine = make_engine(settings.resolved_database_url)
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_session_factory(engine),
            secret_box=SecretBox(settings.resolved_data_key),
            login_limiter=LoginRateLimiter(settings.login_rate_limit, settings.rate_limit_storage_url),
        )

    async def close(self) -> None:
        """Release database connections and the rate limiter's background task."""
        self.login_limiter.close()
        await self.engine.dispose()
