"""Running Alembic from the program, wherever it was installed."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config


def migrations_dir() -> Path:
    """bot/migrations in an installed wheel (see pyproject's package-dir), else the repo's migrations/."""
    here = Path(__file__).resolve().parent.parent
    installed = here / "migrations"
    if (installed / "env.py").is_file():
        return installed
    return here.parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Must run outside an event loop: the async env.py starts its own."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)
