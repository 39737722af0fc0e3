"""Fixtures: a migrated database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set), the
fake exchange and fake Telegram servers, and the real bot Application running against them."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from telegram.ext import Application

from bot.settings import Settings
from bot.storage import migrate
from bot.storage.db import make_engine, make_sessions
from bot.storage.store import AlertStore
from bot.runtime.compose import build_application
from bot.runtime.work import start_work
from bot.telegram.app import ALLOWED_UPDATES
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "")

_backends = [pytest.param("sqlite", id="sqlite")]
_backends.append(pytest.param("postgresql", id="postgresql", marks=pytest.mark.skipif(
    not POSTGRES_URL, reason="TEST_DATABASE_URL is not set: PostgreSQL tests skipped")))


async def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture(params=_backends)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database, migrated to head: a SQLite file, or a clean PostgreSQL schema."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'pricealert.db'}"
    else:
        url = POSTGRES_URL
        await _reset_postgres(url)
    await asyncio.to_thread(migrate.upgrade, url)
    return url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[AlertStore]:
    engine = make_engine(database_url)
    yield AlertStore(make_sessions(engine))
    await engine.dispose()


@pytest.fixture
async def exchange() -> AsyncIterator[FakeExchange]:
    fake = FakeExchange()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram()
    await fake.start()
    yield fake
    await fake.stop()


@dataclass
class RunningBot:
    application: Application
    settings: Settings


async def start_bot(settings: Settings) -> Application:
    """What `run_polling` does, minus the signal handling and the blocking loop."""
    application = build_application(settings)
    await application.initialize()
    if application.post_init:
        await application.post_init(application)
    await application.updater.start_polling(timeout=1, allowed_updates=ALLOWED_UPDATES)
    await application.start()
    await start_work(application)  # the only process: the working one
    return application


async def stop_bot(application: Application) -> None:
    if application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    if application.post_stop:
        await application.post_stop(application)
    await application.shutdown()
    if application.post_shutdown:
        await application.post_shutdown(application)


def bot_settings(database_url: str, exchange: FakeExchange, telegram: FakeTelegram, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "telegram_bot_token": telegram.token,
        "telegram_api_url": telegram.url,
        "binance_ws_url": exchange.url,
        "binance_stream_url": "",  # no wick watching unless a test gives the fake market streams
        "database_url": database_url,
        "poll_interval": 0.5,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def bot(database_url: str, exchange: FakeExchange, telegram: FakeTelegram) -> AsyncIterator[RunningBot]:
    settings = bot_settings(database_url, exchange, telegram)
    application = await start_bot(settings)
    yield RunningBot(application, settings)
    await stop_bot(application)


ROOT = str(Path(__file__).resolve().parent.parent)  # subprocesses run the code under test


def bot_env(telegram: FakeTelegram, exchange: FakeExchange, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "POLL_INTERVAL"}}
    env.update(
        PYTHONPATH=ROOT, TELEGRAM_BOT_TOKEN=telegram.token, TELEGRAM_API_URL=telegram.url,
        BINANCE_WS_URL=exchange.url, BINANCE_STREAM_URL="", DATABASE_URL=database_url, POLL_INTERVAL="0.5",
    )
    return env


async def spawn_bot(cwd: Path, telegram: FakeTelegram, exchange: FakeExchange, database_url: str,
                    stderr: Any = asyncio.subprocess.PIPE) -> asyncio.subprocess.Process:
    """`python -m bot run` in its own process, as an operator starts it.

    A chatty process must get a file as `stderr`: an unread pipe fills up and blocks it.
    """
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=cwd, env=bot_env(telegram, exchange, database_url),
        stderr=stderr,
    )


async def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Waits until `condition()` holds, checking every 20 ms; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
