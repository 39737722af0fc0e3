"""Delivery benchmark: N chats' alerts fire in one tick; how fast do they all arrive?

Runs the real bot against the fake Telegram server, which enforces Telegram's 30 messages per
second with 429s, and the fake exchange. Prints one line: messages, seconds, messages per
second, 429s received and messages lost (must be 0).

    python -m benchmarks.delivery --chats 5000 [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from bot.alerts.rules import Direction
from bot.storage.db import make_engine, make_sessions
from bot.storage import migrate
from bot.storage.store import AlertStore
from tests.conftest import bot_settings, start_bot, stop_bot
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram


async def run(chats: int, database_url: str, timeout: float) -> None:
    await asyncio.to_thread(migrate.upgrade, database_url)
    engine = make_engine(database_url)
    store = AlertStore(make_sessions(engine))
    for chat in range(1, chats + 1):
        await store.create_alert(chat, "BTCUSDT", Direction.UP, Decimal("65000"), f"chat {chat}")
    await engine.dispose()

    exchange, telegram = FakeExchange(), FakeTelegram()
    await exchange.start()
    await telegram.start()
    exchange.set_price("BTCUSDT", "64000.00")
    application = await start_bot(bot_settings(database_url, exchange, telegram))
    try:
        await exchange.wait_for_requests(1)
        started = time.monotonic()
        exchange.set_price("BTCUSDT", "65000.00")
        deadline = started + timeout
        while len({m.chat_id for m in telegram.sent}) < chats and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        elapsed = time.monotonic() - started
    finally:
        await stop_bot(application)
        await telegram.stop()
        await exchange.stop()
    received = [m for m in telegram.sent if "🔔" in m.plain]
    per_chat: dict[int, int] = {}
    for message in received:
        per_chat[message.chat_id] = per_chat.get(message.chat_id, 0) + 1
    lost = chats - len(per_chat)
    duplicated = sum(n - 1 for n in per_chat.values())
    too_many = sum(1 for _, status, _ in telegram.rejected if status == 429)
    print(
        f"chats={chats} database={database_url.split(':')[0]} messages={len(received)} "
        f"seconds={elapsed:.1f} msg_per_s={len(received) / elapsed:.1f} "
        f"429s={too_many} lost={lost} duplicated={duplicated}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chats", type=int, default=5000)
    parser.add_argument("--database", default="", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        asyncio.run(run(args.chats, url, args.timeout))


if __name__ == "__main__":
    main()
