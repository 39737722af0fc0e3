"""Delivery benchmark: N chats' alerts fire in one tick; how fast do they all arrive?

Runs the real bot (in this process) against the fake exchange and the fake Telegram server, which
runs in a process of its own, as Telegram does not share the bot's CPU. The fake enforces
Telegram's 30 messages in any second with 429s, 1,000 with allow_paid_broadcast, and charges
0.1 Star for each paid message over the free 30. Prints one line:

- messages, and msg_per_s: messages over the seconds from the first to the last message (the
  delivery rate); overall_per_s counts from the price move, tick and firing included;
- 429s received, lost and duplicated chats (all must be 0);
- busiest_second: the most messages within any one second, from the fake's timestamps;
- last_wait_s: how long the last chat waited, from the price move to its message;
- with --paid: paid (messages sent with the flag) and stars (what the fake charged).

    python -m benchmarks.delivery --chats 5000 [--paid] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from bot.crossing import Direction
from bot.storage import migrate
from bot.storage.db import make_engine, make_sessions
from bot.storage.alerts import new_alert
from tests.conftest import bot_settings, start_bot, stop_bot
from tests.fakes.exchange import FakeExchange

FAKE = """
import asyncio, json, sys, time
from decimal import Decimal
from tests.fakes.telegram import FakeTelegram

async def main(chats):
    telegram = FakeTelegram(stars=Decimal(sys.argv[2]))
    print(await telegram.start(), flush=True)
    reached = set()
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_reader(sys.stdin.fileno(), lambda: stop.done() or stop.set_result(None))
    seen = 0
    while not stop.done():
        for message in telegram.sent[seen:]:
            if "\U0001f514" in message.plain:
                reached.add(message.chat_id)
        seen = len(telegram.sent)
        if len(reached) >= chats:
            print("done", flush=True)
            break
        await asyncio.sleep(0.05)
    await stop
    alerts = [m for m in telegram.sent if "\U0001f514" in m.plain]
    summary = {
        "sent": [[m.chat_id, m.at, m.paid] for m in alerts], "busiest": telegram.busiest_second(alerts),
        "rejected": [r[1] for r in telegram.rejected], "stars": str(telegram.stars_spent),
        "cpu": time.process_time(),
    }
    print(json.dumps(summary), flush=True)
    await telegram.stop()

asyncio.run(main(int(sys.argv[1])))
"""


async def run(chats: int, database_url: str, timeout: float, paid: bool) -> None:
    await asyncio.to_thread(migrate.upgrade, database_url)
    engine = make_engine(database_url)
    sessions = make_sessions(engine)
    for first in range(1, chats + 1, 5000):  # what create_alert writes, 5,000 to a transaction
        async with sessions() as session:
            session.add_all([new_alert(chat, "BTCUSDT", Direction.UP, Decimal("65000"), f"chat {chat}")
                             for chat in range(first, min(first + 5000, chats + 1))])
            await session.commit()
    await engine.dispose()

    stars = "1000000" if paid else "0"
    fake = await asyncio.create_subprocess_exec(
        sys.executable, "-c", FAKE, str(chats), stars, cwd=Path(__file__).resolve().parent.parent,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=2**30,
    )
    assert fake.stdout is not None and fake.stdin is not None
    url = (await fake.stdout.readline()).decode().strip()

    class Telegram:  # what bot_settings reads of a FakeTelegram
        token = "123456:TEST-token_abcdefghijklmnopqrstuv"

    Telegram.url = url  # type: ignore[attr-defined]
    exchange = FakeExchange()
    await exchange.start()
    exchange.set_price("BTCUSDT", "64000.00")
    application = await start_bot(bot_settings(database_url, exchange, Telegram, paid_broadcast=paid))  # type: ignore[arg-type]
    try:
        await exchange.wait_for_requests(1)
        started, cpu = time.time(), time.process_time()
        exchange.set_price("BTCUSDT", "65000.00")
        try:
            await asyncio.wait_for(fake.stdout.readline(), timeout)
        except TimeoutError:
            print(f"timed out after {timeout:g} s", file=sys.stderr)
        cpu = time.process_time() - cpu
    finally:
        await stop_bot(application)
        await exchange.stop()
        fake.stdin.write(b"stop\n")
        await fake.stdin.drain()
        summary = json.loads(await fake.stdout.readline())
        await fake.wait()
    sent = summary["sent"]
    per_chat: dict[int, int] = {}
    for chat_id, _, _ in sent:
        per_chat[chat_id] = per_chat.get(chat_id, 0) + 1
    lost = chats - len(per_chat)
    duplicated = sum(n - 1 for n in per_chat.values())
    times = sorted(at for _, at, _ in sent)
    spread = times[-1] - times[0] if len(times) > 1 else float("nan")
    line = (
        f"chats={chats} database={database_url.split(':')[0]} paid_broadcast={str(paid).lower()} "
        f"messages={len(sent)} seconds={spread:.1f} msg_per_s={(len(sent) - 1) / spread:.1f} "
        f"overall_per_s={len(sent) / (times[-1] - started):.1f} "
        f"429s={summary['rejected'].count(429)} lost={lost} duplicated={duplicated} "
        f"busiest_second={summary['busiest']} last_wait_s={times[-1] - started:.1f} "
        f"bot_cpu_ms_per_msg={cpu * 1000 / len(sent):.2f} telegram_cpu_s={summary['cpu']:.0f}"
    )
    if paid:
        line += f" paid={sum(1 for *_, p in sent if p)} stars={summary['stars']}"
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chats", type=int, default=5000)
    parser.add_argument("--paid", action="store_true", help="PAID_BROADCAST=true, with Stars on the fake's balance")
    parser.add_argument("--database", default="", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        asyncio.run(run(args.chats, url, args.timeout, args.paid))


if __name__ == "__main__":
    main()
