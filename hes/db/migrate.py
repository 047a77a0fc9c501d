"""Bring a database to the newest schema with Alembic (used by `hes db upgrade`, `hes serve` and tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.environment import NameFilterParentNames, NameFilterType

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Monthly partitions of `readings` (PostgreSQL) are created at run time, not declared in the models.
_PARTITION_PREFIX = "readings_"


def include_name(name: str | None, type_: NameFilterType, _parent_names: NameFilterParentNames) -> bool:
    """Alembic filter: compare declared tables, not the run-time partitions of readings."""
    return not (type_ == "table" and name is not None and name.startswith(_PARTITION_PREFIX))


def alembic_config(database_url: str) -> Config:
    """Alembic configuration for this package's migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision`; safe to run on every start. Must not run inside an event loop."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Revert migrations down to `revision`."""
    command.downgrade(alembic_config(database_url), revision)
