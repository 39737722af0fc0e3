"""Two real `pricealert run` processes on one database: one works, the other stands by and takes
over after a kill -9, a SIGTERM or a lost lock; migrations from several processes at once."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from bot.alerts.rules import Direction
from bot.exchange.markprice import STREAM as MARK_STREAM
from bot.exchange.streams import stream_name
from bot.runtime.lock import postgres_dsn
from bot.runtime.process import STANDBY_LINE
from bot.storage.store import AlertStore
from tests.conftest import POSTGRES_URL, ROOT, _reset_postgres
from tests.fakes.exchange import FakeExchange
from tests.fakes.streams import FakeStreams
from tests.fakes.telegram import FakeTelegram
from tests.processes import (
    WORKING_LINE, BotProcess, first_ticker_request_after, logged_at, spawn, working_and_standby,
)

USER = 5001
BURST_CHATS = 200
IN_FLIGHT = 8  # the outbox sender's concurrent sends: what a kill -9 may leave sent but unmarked


async def start_pair(tmp_path: Path, telegram: FakeTelegram, exchange: FakeExchange, database_url: str,
                     **settings: str) -> tuple[BotProcess, BotProcess]:
    """The first process takes the lock; the second stands by."""
    first = await spawn(tmp_path, "first", telegram, exchange, database_url, **settings)
    await first.wait_for_line(WORKING_LINE)
    second = await spawn(tmp_path, "second", telegram, exchange, database_url, **settings)
    return await working_and_standby(first, second)


@pytest.fixture
async def streams() -> AsyncIterator[FakeStreams]:
    fake = FakeStreams()
    await fake.start()
    yield fake
    await fake.stop()


async def test_only_the_working_process_polls_telegram_and_binance(
    tmp_path: Path, telegram: FakeTelegram, exchange: FakeExchange, streams: FakeStreams, database_url: str
) -> None:
    working, standby = await start_pair(tmp_path, telegram, exchange, database_url, BINANCE_STREAM_URL=streams.url)
    try:
        await telegram.user_sends(USER, "/alert BTCUSDT 99999")
        await telegram.wait_for_message(USER, "✅", timeout=30)
        await exchange.wait_for_requests(len(exchange.ticker_requests()) + 8, timeout=30)  # 4 s of ticks
        await streams.wait_for(lambda: stream_name("BTCUSDT") in streams.all_streams(), timeout=30)
    finally:
        await standby.stop()  # first, or it would take over
        await working.stop()
    assert exchange.handshakes == 1, "the standby connected to Binance"
    # The working process opens two: the kline streams (wicks) and the mark price stream (docs/futures.md).
    assert streams.connections_that_read(lambda name: name != MARK_STREAM) == 1, "the standby read kline streams"
    assert streams.connections_that_read(lambda name: name == MARK_STREAM) == 1, "the standby read mark prices"
    assert streams.handshakes == 2
    assert not [r for r in telegram.rejected if r[1] == 409], telegram.rejected  # one getUpdates at a time
    assert len(standby.lines(STANDBY_LINE)) == 1
    assert not standby.lines(WORKING_LINE)


async def test_kill_9_mid_burst_the_standby_finishes_it(
    tmp_path: Path, telegram: FakeTelegram, exchange: FakeExchange, database_url: str, store: AlertStore
) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    chats = range(1, BURST_CHATS + 1)
    for chat in chats:
        await store.create_alert(chat, "BTCUSDT", Direction.UP, Decimal("65000"), f"chat {chat}")
    await store.create_alert(USER, "BTCUSDT", Direction.UP, Decimal("99999"), "keeps ticks asking")
    working, standby = await start_pair(tmp_path, telegram, exchange, database_url)
    try:
        exchange.set_price("BTCUSDT", "65000.00")
        async with telegram._changed:  # the burst is under way: a quarter delivered
            await asyncio.wait_for(telegram._changed.wait_for(lambda: len(telegram.sent) >= BURST_CHATS // 4), 30)
        working.kill()
        killed_at = time.time()
        await working.process.wait()
        takeover = await first_ticker_request_after(exchange, killed_at) - killed_at
        async with telegram._changed:
            await asyncio.wait_for(telegram._changed.wait_for(
                lambda: {m.chat_id for m in telegram.sent if "🔔" in m.plain} >= set(chats)), 60)
    finally:
        await standby.stop()
    per_chat = Counter(m.chat_id for m in telegram.sent if "🔔" in m.plain)
    duplicates = sum(count - 1 for count in per_chat.values())
    assert set(per_chat) == set(chats)
    assert duplicates <= IN_FLIGHT, per_chat.most_common(10)
    assert takeover < 3.0, f"took {takeover:.2f} s"
    assert standby.lines(WORKING_LINE)


async def test_sigterm_hands_over_within_two_seconds(
    tmp_path: Path, telegram: FakeTelegram, exchange: FakeExchange, database_url: str
) -> None:
    working, standby = await start_pair(tmp_path, telegram, exchange, database_url)
    try:
        await telegram.user_sends(USER, "/alert BTCUSDT 99999")  # ticks ask the exchange
        await telegram.wait_for_message(USER, "✅", timeout=30)
        await exchange.wait_for_requests(len(exchange.ticker_requests()) + 2)
        stopped_at = time.time()
        assert await working.stop() == 0, working.log()
        took_over = logged_at(await standby.wait_for_line(WORKING_LINE, timeout=5))
        await exchange.wait_for_requests(len(exchange.ticker_requests()) + 2)  # the new one ticks
        await telegram.user_sends(USER, "/alerts")  # and reads getUpdates
        await telegram.wait_for_message(USER, "99999", timeout=10)
    finally:
        await standby.stop()
    assert took_over - stopped_at < 2.0, f"took {took_over - stopped_at:.2f} s"
    assert working.lines("released the work lock")


@pytest.mark.skipif(not POSTGRES_URL, reason="TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
async def test_a_process_that_loses_its_lock_stops_working_at_once(
    tmp_path: Path, telegram: FakeTelegram, exchange: FakeExchange, streams: FakeStreams
) -> None:
    database_url = POSTGRES_URL
    await _reset_postgres(database_url)
    settings = {"POLL_INTERVAL": "1", "BINANCE_STREAM_URL": streams.url}
    working, standby = await start_pair(tmp_path, telegram, exchange, database_url, **settings)
    try:
        await telegram.user_sends(USER, "/alert BTCUSDT 99999")
        await telegram.wait_for_message(USER, "✅", timeout=30)
        await streams.wait_for(lambda: stream_name("BTCUSDT") in streams.all_streams(), timeout=30)
        connection = await asyncpg.connect(postgres_dsn(database_url))
        try:  # as an operator, or a network cut, would end the lock's session
            terminated = await connection.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
                f"pricealert-lock-{working.pid}")
        finally:
            await connection.close()
        cut_at = time.time()
        assert terminated == 1
        lost = logged_at(await working.wait_for_line("the work lock is lost", timeout=5))
        await working.wait_for_line(STANDBY_LINE, timeout=10)
        await standby.wait_for_line(WORKING_LINE, timeout=5)
        ticks_from = len(exchange.ticker_requests())
        await exchange.wait_for_requests(ticks_from + 3, timeout=10)
        # The demoted process closed its market-stream connections (klines, mark prices); the new
        # working one opened its own two.
        await streams.wait_for(lambda: streams.handshakes == 4 and len(streams.subscriptions()) == 2
                               and streams.connections_reading(MARK_STREAM) == 1, timeout=10)
        exchange_connections = len(exchange._connections)
    finally:
        await working.stop()
        await standby.stop()
    assert lost - cut_at < 1.0 + 0.5, "not noticed before the next tick"  # POLL_INTERVAL 1 s
    # The demoted process closed its connections to Binance and ticks no more.
    assert exchange_connections == 1
    assert len(working.lines(WORKING_LINE)) == 1


async def test_migrations_run_once_when_processes_start_together(tmp_path: Path, database_url: str) -> None:
    if database_url.startswith("postgresql"):
        await _reset_postgres(database_url)
    else:
        database_url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    env = dict(os.environ, PYTHONPATH=ROOT, TELEGRAM_BOT_TOKEN="1:x", DATABASE_URL=database_url)
    processes = [await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "migrate", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE,
    ) for _ in range(3)]
    outputs = [(await asyncio.wait_for(p.communicate(), 60))[1].decode() for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], outputs
    ran = [line for output in outputs for line in output.splitlines() if "Running upgrade  -> 0001" in line]
    assert len(ran) == 1, outputs
