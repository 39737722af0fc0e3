"""Failover benchmark: kill -9 the working process in the middle of a burst of notifications, five
times, and measure how long until the standby asks Binance for prices, and how many messages
arrive twice.

Two real `pricealert run` processes share the database, against the fake Telegram server (30
messages a second, like Telegram) and the fake exchange. Each round fires one alert in each of
`--chats` chats, kills the working process once a quarter of them have arrived, waits until every
chat has its message, and starts a new standby. Prints one line per round, then the median and
max takeover (kill -9 → first `ticker.price` request by the new working process) and duplicates,
then the hand-over after a SIGTERM (SIGTERM → the standby logs that it works).

    python -m benchmarks.failover --database postgresql+asyncpg://USER@HOST/DB [--kills 5] [--chats 100]

Without --database it runs on a SQLite file in a temporary directory. The PostgreSQL database
gets the schema migrated and new alerts; use a scratch database.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

from bot.alerts.rules import Direction
from bot.runtime import migrate
from bot.runtime.process import STANDBY_LINE
from bot.storage.db import make_engine, make_sessions
from bot.storage.store import AlertStore
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram
from tests.processes import (
    WORKING_LINE, BotProcess, first_ticker_request_after, logged_at, spawn, working_and_standby,
)

KEEP_TICKING_CHAT = 1


async def create_round(database_url: str, chats: list[int], level: Decimal) -> None:
    engine = make_engine(database_url)
    store = AlertStore(make_sessions(engine))
    for chat in chats:
        await store.create_alert(chat, "BTCUSDT", Direction.UP, level, f"round at {level}")
    await engine.dispose()


async def wait_until(condition, telegram: FakeTelegram, timeout: float) -> None:  # type: ignore[no-untyped-def]
    async with telegram._changed:
        await asyncio.wait_for(telegram._changed.wait_for(condition), timeout)


async def run(database_url: str, kills: int, chats: int, directory: Path) -> None:
    await migrate(database_url)
    engine = make_engine(database_url)
    store = AlertStore(make_sessions(engine))
    await store.create_alert(KEEP_TICKING_CHAT, "BTCUSDT", Direction.UP, Decimal("999999"), "keeps ticks asking")
    await engine.dispose()

    exchange, telegram = FakeExchange(), FakeTelegram()
    await exchange.start()
    await telegram.start()
    exchange.set_price("BTCUSDT", "60000.00")
    first = await spawn(directory, "p0", telegram, exchange, database_url)
    await first.wait_for_line(WORKING_LINE)
    second = await spawn(directory, "p1", telegram, exchange, database_url)
    working, standby = await working_and_standby(first, second)
    takeovers: list[float] = []
    duplicates_total = 0
    try:
        for round_ in range(kills):
            level = Decimal(61000 + 1000 * round_)
            ids = [100_000 * (round_ + 1) + i for i in range(chats)]
            await create_round(database_url, ids, level)
            await asyncio.sleep(1)  # the alerts are seen below their level by a tick first
            exchange.set_price("BTCUSDT", f"{level}")
            wanted = set(ids)

            def notified() -> Counter[int]:
                return Counter(m.chat_id for m in telegram.sent if m.chat_id in wanted)

            await wait_until(lambda: sum(notified().values()) >= chats // 4, telegram, 60)
            working.kill()
            killed_at = time.time()
            await working.process.wait()
            takeover = await first_ticker_request_after(exchange, killed_at) - killed_at
            await wait_until(lambda: set(notified()) >= wanted, telegram, 120)
            duplicates = sum(count - 1 for count in notified().values())
            takeovers.append(takeover)
            duplicates_total += duplicates
            print(f"round {round_ + 1}: takeover {takeover:.2f} s, {chats} chats notified, {duplicates} duplicates",
                  flush=True)
            replacement = await spawn(directory, f"p{round_ + 2}", telegram, exchange, database_url)
            await replacement.wait_for_line(STANDBY_LINE)
            working, standby = standby, replacement
            await working.wait_for_line(WORKING_LINE)
        stopped_at = time.time()  # and a deploy: SIGTERM, the standby takes the lock once it is released
        await working.stop()
        handover = logged_at(await standby.wait_for_line(WORKING_LINE)) - stopped_at
    finally:
        for process in (working, standby):
            await _stop(process)
        await telegram.stop()
        await exchange.stop()
    print(f"takeover after kill -9 over {kills} kills: median {statistics.median(takeovers):.2f} s, "
          f"max {max(takeovers):.2f} s; duplicates {duplicates_total} of {kills * chats} messages; "
          f"SIGTERM hand-over {handover:.2f} s")


async def _stop(process: BotProcess) -> None:
    if process.process.returncode is None:
        await process.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="", help="DATABASE_URL (default: a temporary SQLite file)")
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--chats", type=int, default=100, help="alerts that fire in each round, one per chat")
    args = parser.parse_args()
    logging.getLogger("websockets.server").setLevel(logging.CRITICAL)  # a killed client's connection is no news here
    with tempfile.TemporaryDirectory() as directory:
        url = args.database or f"sqlite+aiosqlite:///{Path(directory) / 'failover.db'}"
        asyncio.run(run(url, args.kills, args.chats, Path(directory)))


if __name__ == "__main__":
    main()
