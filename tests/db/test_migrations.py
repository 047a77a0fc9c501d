"""The migrations build exactly the tables the code declares, and can be undone and redone."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

from hes.db.migrate import downgrade, include_name, upgrade
from hes.db.tables import Base
from hes.runtime import Runtime


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": include_name})
    return list(compare_metadata(context, Base.metadata))


async def test_migrated_schema_matches_the_declared_tables(runtime: Runtime) -> None:
    async with runtime.engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    assert differences == []


async def test_readings_are_partitioned_by_time_on_postgresql(runtime: Runtime) -> None:
    async with runtime.engine.connect() as connection:
        if connection.dialect.name != "postgresql":
            return
        strategy = await connection.exec_driver_sql(
            "SELECT partstrat::text FROM pg_partitioned_table WHERE partrelid = 'readings'::regclass"
        )
        assert strategy.scalar() == "r"


def test_downgrade_to_base_and_upgrade_again(database_url: str) -> None:
    downgrade(database_url, "base")
    upgrade(database_url)


async def test_every_declared_table_exists(runtime: Runtime) -> None:
    async with runtime.engine.connect() as connection:
        names = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert set(Base.metadata.tables) <= names
