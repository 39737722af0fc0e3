"""Alembic builds the schema the models describe, and takes it down again."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.storage import migrate
from bot.storage.db import make_engine
from bot.storage.models import Base


async def _differences(url: str) -> list:
    engine = make_engine(url)
    async with engine.connect() as connection:
        diff = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata)
        )
    await engine.dispose()
    return diff


async def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    await engine.dispose()
    return names - {"alembic_version"}


async def test_models_and_migrations_agree(database_url: str) -> None:
    assert await _differences(database_url) == []


async def test_downgrade_to_base_and_upgrade_again(database_url: str) -> None:
    assert await _tables(database_url) == set(Base.metadata.tables)
    await asyncio.to_thread(migrate.downgrade, database_url, "base")
    assert await _tables(database_url) == set()
    await asyncio.to_thread(migrate.upgrade, database_url)
    assert await _differences(database_url) == []


def test_the_revisions_form_one_line_numbered_in_order() -> None:
    """Revisions written on branches at once each point at the old head: merged as they are, the
    chain forks, `upgrade head` refuses to choose and the bot cannot start."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    assert len(scripts.get_heads()) == 1
    chain = [script.revision for script in scripts.walk_revisions()][::-1]  # base to head
    assert chain == sorted(chain)
