"""Alembic, driven from code: ``salonpost db upgrade`` and the Procfile's release step."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from db.session import _normalise_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation would eat a '%' in a password.
    config.set_main_option("sqlalchemy.url", _normalise_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def current_heads(url: str) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    from db.session import get_engine

    with get_engine(url).connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())
