"""kill -9 between firing an alert and sending its message: after a restart it arrives exactly once."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from tests.conftest import spawn_bot
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram

SENT_BEFORE, PENDING_AT_CRASH, KEEPS_TICKING = 2001, 2002, 2003


async def test_a_message_pending_at_a_crash_arrives_once_after_restart(
    tmp_path: Path, telegram: FakeTelegram, exchange: FakeExchange, database_url: str
) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    exchange.set_price("ETHUSDT", "2500.00")
    process = await spawn_bot(tmp_path, telegram, exchange, database_url)
    try:
        await telegram.user_sends(SENT_BEFORE, "/alert BTCUSDT 65000")
        await telegram.wait_for_message(SENT_BEFORE, "✅", timeout=30)
        await telegram.user_sends(PENDING_AT_CRASH, "/alert ETHUSDT 3000 after the crash")
        await telegram.wait_for_message(PENDING_AT_CRASH, "✅")
        await telegram.user_sends(KEEPS_TICKING, "/alert BTCUSDT 99999")  # ticks go on after both fire
        await telegram.wait_for_message(KEEPS_TICKING, "✅")

        exchange.set_price("BTCUSDT", "65000.00")
        await telegram.wait_for_message(SENT_BEFORE, "🔔")  # delivered and marked sent

        telegram.hold_sends()
        exchange.set_price("ETHUSDT", "3000.00")
        await telegram.wait_for_held_sends(1)  # fired, committed, its send in flight
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    telegram.release_sends(accept=False)  # the request died with the process, unaccepted

    process = await spawn_bot(tmp_path, telegram, exchange, database_url)
    try:
        message = await telegram.wait_for_message(PENDING_AT_CRASH, "🔔", timeout=30)
        assert "after the crash" in message.plain
        await exchange.wait_for_requests(len(exchange.ticker_requests()) + 3, timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), 30)
    assert [m.plain.count("🔔") for m in telegram.messages_to(PENDING_AT_CRASH) if "🔔" in m.plain] == [1]
    assert [m.plain.count("🔔") for m in telegram.messages_to(SENT_BEFORE) if "🔔" in m.plain] == [1]
