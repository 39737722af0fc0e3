"""Every in-memory structure has a bound, by size or by age, so that the process settles
(benchmarks/memory.py measures the whole). Each test fills one structure far beyond its bound."""

from __future__ import annotations

import _sqlite3
import asyncio
import ctypes
import gc
import threading
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncConnection
from telegram import Bot, Update

from bot.alerts import service as service_module
from bot.alerts.charts import MAX_BARS_KEPT, MAX_PICTURES_KEPT, ChartService, Shared
from bot.alerts.moves import MoveTracker
from bot.alerts.service import AlertService
from bot.alerts.tick import Ticker
from bot.notify.notices import Notices
from bot.exchange.client import BinanceClient
from bot.exchange.feed import PriceFeed
from bot.storage.db import POOL_SIZE, STATEMENT_CACHE, make_engine
from bot.storage.store import AlertStore
from bot.telegram.admins import AdminCheck
from tests.conftest import RunningBot
from tests.fakes.telegram import FakeTelegram


# -- the chart caches (bot/alerts/charts.py) -------------------------------------------------
async def value(n: int) -> int:
    return n


async def test_the_shared_cache_never_holds_more_than_its_size() -> None:
    shared: Shared[int] = Shared(ttl=30, max_entries=8)
    for n in range(100):
        assert await shared.get(n, lambda n=n: value(n)) == n
        assert len(shared) <= 8
    assert await shared.get(99, lambda: value(-1)) == 99  # the newest are the ones kept


async def test_the_shared_cache_drops_values_older_than_its_age_at_the_next_making() -> None:
    shared: Shared[int] = Shared(ttl=0.05, max_entries=512)
    for n in range(50):
        await shared.get(n, lambda n=n: value(n))
    assert len(shared) == 50
    await asyncio.sleep(0.06)
    await shared.get("new", lambda: value(0))
    assert len(shared) == 1  # far below the size bound: only what is younger than ttl stays


async def test_a_value_made_again_counts_as_new_for_the_age_order() -> None:
    shared: Shared[int] = Shared(ttl=0.05, max_entries=512)
    await shared.get("a", lambda: value(1))
    await shared.get("b", lambda: value(2))
    await asyncio.sleep(0.06)
    await shared.get("a", lambda: value(3))  # "a" is made again: now the youngest
    await shared.get("c", lambda: value(4))
    assert len(shared) == 2 and await shared.get("a", lambda: value(5)) == 3


def test_the_chart_service_bounds_its_klines_and_pictures() -> None:
    charts = ChartService(klines=None, store=None)  # type: ignore[arg-type]  # the caches only
    assert charts._bars._max_entries == MAX_BARS_KEPT == 256
    assert charts._pictures._max_entries == MAX_PICTURES_KEPT == 64


# -- the admin cache (bot/telegram/admins.py) --------------------------------------------------
@pytest.fixture
async def real_bot(telegram: FakeTelegram) -> AsyncIterator[Bot]:
    bot = Bot(telegram.token, base_url=f"{telegram.url}/bot")
    async with bot:
        yield bot


def group_command(bot: Bot, chat_id: int, user_id: int) -> Update:
    return Update.de_json({"update_id": 1, "message": {
        "message_id": 1, "date": 0, "text": "/delete 1",
        "chat": {"id": chat_id, "type": "supergroup", "title": "g"},
        "from": {"id": user_id, "is_bot": False, "first_name": "T"}}}, bot)


async def test_the_admin_cache_never_holds_more_than_its_size(telegram: FakeTelegram, real_bot: Bot) -> None:
    telegram.group_admins[-100] = {7}
    check = AdminCheck(real_bot, max_entries=5)
    for user in range(1, 21):
        assert await check.may_change(group_command(real_bot, -100, user)) is (user == 7)
        assert len(check._cache) <= 5
    lookups = telegram.member_lookups
    assert await check.may_change(group_command(real_bot, -100, 20)) is False
    assert telegram.member_lookups == lookups  # the newest answers are the ones kept


async def test_the_admin_cache_asks_again_after_its_age(telegram: FakeTelegram, real_bot: Bot) -> None:
    telegram.group_admins[-100] = {7}
    check = AdminCheck(real_bot, ttl=0.05, max_entries=3)
    await check.may_change(group_command(real_bot, -100, 7))
    telegram.group_admins[-100] = set()  # demoted
    assert await check.may_change(group_command(real_bot, -100, 7)) is True  # cached
    await asyncio.sleep(0.06)
    assert await check.may_change(group_command(real_bot, -100, 7)) is False
    for user in range(10, 20):  # expired answers go first when the cache is full
        await check.may_change(group_command(real_bot, -100, user))
        assert len(check._cache) <= 3


# -- the language cache (bot/alerts/service.py) ------------------------------------------------
async def test_the_language_cache_never_holds_more_than_its_size(
        store: AlertStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service_module, "MAX_CACHED_LANGUAGES", 4)
    feed = PriceFeed(BinanceClient("ws://127.0.0.1:9"))
    service = AlertService(store, feed, Ticker(store, feed, Notices(), poll_interval=1), poll_interval=1)
    for chat in range(1, 30):
        assert await service.language(chat, "zh-hans" if chat % 2 else "en") == ("zh" if chat % 2 else "en")
        assert len(service._languages) <= 4
    assert await service.language(1, None) == "zh"  # forgotten by the cache, not by the database


# -- move histories (bot/alerts/moves.py) -----------------------------------------------------
def test_move_histories_hold_at_most_their_cap_per_symbol_in_the_longest_trend() -> None:
    from bot.alerts.moves import MAX_ENTRIES_PER_SYMBOL
    tracker = MoveTracker()
    windows = [("BTCUSDT", 24 * 3600)]
    tracker.watch(windows)
    for tick in range(3 * MAX_ENTRIES_PER_SYMBOL):  # a steady rise, one tick a second: every price stays a low
        tracker.observe(float(tick), {"BTCUSDT": Decimal(100_000 + tick)}, windows)
    assert tracker.size() <= MAX_ENTRIES_PER_SYMBOL + 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-3, 3), min_size=1, max_size=300), st.integers(1, 300))
def test_thinned_move_histories_never_invent_a_move(steps: list[int], window: int) -> None:
    """With a tiny cap the histories are thinned all the time; a window's move may come out
    smaller than the exact one (its edge a little later), never larger, and the latest stays exact."""
    from bot.alerts import moves
    limit = moves.MAX_ENTRIES_PER_SYMBOL
    moves.MAX_ENTRIES_PER_SYMBOL = 8
    try:
        tracker, windows = MoveTracker(), [("X", max(60, window))]
        tracker.watch(windows)
        prices: list[Decimal] = []
        price = Decimal(1000)
        for t, step in enumerate(steps):
            price += step
            prices.append(price)
            move = tracker.observe(float(t), {"X": price}, windows)[("X", windows[0][1])]
            recent = prices[max(0, t - windows[0][1]):]
            exact = max((price - min(recent)) * 100 / min(recent), (max(recent) - price) * 100 / max(recent))
            assert move.percent <= exact
            assert tracker.size() <= 8 + 2
    finally:
        moves.MAX_ENTRIES_PER_SYMBOL = limit


# -- python-telegram-bot's own per-chat state --------------------------------------------------
async def test_no_chat_or_user_data_is_kept_per_chat(bot: RunningBot, telegram: FakeTelegram) -> None:
    application = bot.application
    keys = set(application.bot_data)
    for chat in range(1, 6):
        await telegram.user_sends(chat, "/alert BTCUSDT 40000")
        await telegram.wait_for_message(chat, "#")
        after = len(telegram.sent)
        await telegram.user_sends(chat, "/alerts")
        await telegram.wait_for_message(chat, "BTCUSDT", after=after)
    assert dict(application.chat_data) == {} and dict(application.user_data) == {}
    assert set(application.bot_data) == keys  # shared services only, nothing per chat


# -- SQLite connections (bot/storage/db.py) ----------------------------------------------------
def connection_threads() -> set[threading.Thread]:
    """aiosqlite runs each connection in a thread of its own, for as long as the connection lives."""
    return {thread for thread in threading.enumerate() if "_connection_worker_thread" in thread.name}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_burst_of_commands_waits_for_the_pooled_sqlite_connections(
        bot: RunningBot, telegram: FakeTelegram) -> None:
    """Forty chats at once, twice: every command is answered, by the same few connections. An
    overflow connection would be a new thread with its own page cache and statements, closed
    after one command (with a heap per thread, such churn kept the process growing)."""
    chats = range(5001, 5041)

    async def burst(level: int) -> None:
        await asyncio.gather(*(telegram.user_sends(chat, f"/alert BTCUSDT {level}") for chat in chats))
        for chat in chats:
            await telegram.wait_for_message(chat, str(level), timeout=30)

    await burst(60001)
    first = connection_threads()
    await burst(60002)
    assert 1 <= len(first) <= POOL_SIZE
    assert connection_threads() == first


def sqlite_memory() -> int:
    """What SQLite has allocated in this process (page caches, prepared statements...), in bytes;
    the test is skipped where the sqlite3 module does not show SQLite's own functions (Windows,
    a static build with hidden symbols) or SQLite does not count its memory."""
    try:
        used = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_used  # found in the library it links
    except (OSError, AttributeError):
        pytest.skip("SQLite's sqlite3_memory_used is not reachable from this Python")
    used.restype = ctypes.c_int64
    if used() == 0:
        pytest.skip("this SQLite does not count its memory (SQLITE_DEFAULT_MEMSTATUS=0)")
    return int(used())


async def test_a_sqlite_connection_keeps_a_bounded_number_of_prepared_statements(tmp_path: Path) -> None:
    """A connection that has run 348 different statements holds no more memory than after its
    first 48: it keeps the most recent STATEMENT_CACHE prepared, not every statement it ever ran
    (the bot runs about 110 different ones, on each of its pooled connections)."""
    gc.collect()  # no other test's connection is closed by the collector while this one measures
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'statements.db'}")

    async def run_statements(connection: AsyncConnection, numbers: range) -> int:
        for number in numbers:
            await connection.exec_driver_sql(f"SELECT ? + {number} WHERE ? IS NOT NULL", (1, 2))
        return sqlite_memory()

    try:
        async with engine.connect() as connection:
            start = await run_statements(connection, range(1))
            one_statement = (await run_statements(connection, range(1, 9)) - start) / 8
            after_48 = await run_statements(connection, range(9, 48))
            after_348 = await run_statements(connection, range(1000, 1300))
    finally:
        await engine.dispose()
    assert one_statement > 0
    assert after_348 - after_48 < 2 * one_statement
    assert after_348 - start < (STATEMENT_CACHE + 2) * one_statement
