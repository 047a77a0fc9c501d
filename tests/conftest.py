"""Fixtures: every database test runs on SQLite and on the real PostgreSQL, each in a database of its own."""

from __future__ import annotations

import asyncio
import gc
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import pytest
from argon2 import PasswordHasher, profiles
from asgi_lifespan import LifespanManager
from cryptography.fernet import Fernet
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from hes.app import create_app
from hes.config import Environment, Settings
from hes.db.enums import Role
from hes.db.migrate import upgrade
from hes.db.tables import Base
from hes.runtime import Runtime
from hes.security import passwords
from hes.services import users

POSTGRES_ADMIN_DSN = os.environ.get("HES_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ["sqlite", "postgresql"]
if os.environ.get("HES_TEST_BACKENDS"):
    BACKENDS = os.environ["HES_TEST_BACKENDS"].split(",")

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """argon2id with its cheapest parameters: hundreds of test logins would otherwise dominate the run.

    Hashes keep their parameters, so verification is unchanged; the production profile is the module default.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST))
        yield


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A freshly migrated database for this test run, dropped at the end."""
    with migrated_database(request.param, tmp_path_factory.mktemp("sqlite")) as url:
        yield url


@contextmanager
def migrated_database(backend: str, directory: Path, revision: str = "head") -> Iterator[str]:
    """A new database of `backend` ("sqlite": a file in `directory`) migrated to `revision`; dropped on exit."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{directory / 'hes.db'}"
        upgrade(url, revision)
        yield url
        return
    name = f"hes_test_{os.getpid()}_{secrets.token_hex(4)}"
    asyncio.run(_postgres_admin(f'CREATE DATABASE "{name}"'))
    base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    url = f"{base}/{name}"
    try:
        upgrade(url, revision)
        yield url
    finally:
        asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _postgres_admin(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for one test: its own var dir and secrets, the session's database."""
    return Settings(
        hes_env=Environment.TEST,
        database_url=database_url,
        HES_VAR_DIR=tmp_path / "var",
        jwt_secret=secrets.token_hex(32),
        HES_DATA_KEY=Fernet.generate_key().decode(),
        HES_LOGIN_RATE_LIMIT="1000/minute",
        HES_JOBS_ENABLED=False,  # a test starts the jobs it exercises itself
        meter_port=0,
        _env_file=None,
    )


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """A Runtime on the test database; every table is emptied afterwards."""
    runtime = Runtime.from_settings(settings)
    yield runtime
    await runtime.close()  # first: an ingest writer still at work would hold SQLite's write lock
    await _empty_tables(runtime)
    await runtime.engine.dispose()


@pytest.fixture
async def second_instance(runtime: Runtime) -> AsyncIterator[Runtime]:
    """Another HES instance's view of the same database: its own engine and connection pool."""
    other = Runtime.from_settings(runtime.settings)
    yield other
    await other.close()


async def _empty_tables(runtime: Runtime, attempts: int = 3) -> None:
    for attempt in range(1, attempts + 1):
        try:
            async with runtime.engine.begin() as connection:
                await _delete_all_rows(connection)
            return
        except OperationalError as error:
            # Seen once in CI (tests/connectivity/test_collection.py, SQLite): the shared test database's write
            # lock still held past the 10 s busy timeout by a connection nobody here holds any more. Collecting
            # garbage closes a connection left behind; the holder was not found.
            if "database is locked" not in str(error) or attempt == attempts:
                raise
            gc.collect()


async def _delete_all_rows(connection: AsyncConnection) -> None:
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    if connection.dialect.name == "postgresql":
        await connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        return
    await connection.execute(text("PRAGMA defer_foreign_keys=ON"))  # areas refer to areas
    for table in tables:
        await connection.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
async def app(settings: Settings, runtime: Runtime) -> AsyncIterator[FastAPI]:
    """The HES Core app with its lifespan running."""
    application = create_app(settings)
    # Shutdown ends meter sessions with a release and drains ingest: on a loaded machine that can pass
    # asgi-lifespan's 5 s default, and a test that ran fine would then fail in its teardown.
    async with LifespanManager(application, startup_timeout=30, shutdown_timeout=60):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    """An HTTP client talking to the app in-process."""
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://hes.test") as http:
        yield http


UserFactory = Callable[..., Awaitable[dict[str, str]]]


@pytest.fixture
def login_as(client: AsyncClient, runtime: Runtime) -> UserFactory:
    """Create a user of a role and return the Authorization header of a fresh login."""

    async def make(role: Role, username: str | None = None, customer_id: int | None = None) -> dict[str, str]:
        name = username or f"{role.value}-{secrets.token_hex(3)}"
        async with runtime.sessions() as session:
            await users.create_user(session, "test", users.NewUser(name, PASSWORD, role, customer_id=customer_id))
        answer = await client.post("/api/auth/login", json={"username": name, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['accessToken']}"}

    return make


@pytest.fixture
async def admin(login_as: UserFactory) -> dict[str, str]:
    """Authorization header of an administrator."""
    return await login_as(Role.ADMIN)


@pytest.fixture
async def operator(login_as: UserFactory) -> dict[str, str]:
    """Authorization header of an operator."""
    return await login_as(Role.OPERATOR)


@pytest.fixture
async def viewer(login_as: UserFactory) -> dict[str, str]:
    """Authorization header of a viewer."""
    return await login_as(Role.VIEWER)
