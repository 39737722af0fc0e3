"""Start-up as an operator meets it: Telegram not reachable yet, or a token it refuses."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest

from bot.runtime.startup import TOKEN_REFUSED, backoff_delays
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram
from tests.processes import WORKING_LINE, free_port, spawn

USER = 9001
WRONG_TOKEN = "987654:WRONG-secret_part_the_log_must_not_show"


def test_backoff_doubles_from_one_second_to_a_minute() -> None:
    assert list(itertools.islice(backoff_delays(), 9)) == [1, 2, 4, 8, 16, 32, 60, 60, 60]


async def test_a_token_telegram_refuses_ends_the_process_with_one_line_and_code_2(
    tmp_path: Path, telegram: FakeTelegram, exchange: FakeExchange, database_url: str
) -> None:
    process = await spawn(tmp_path, "bot", telegram, exchange, database_url, TELEGRAM_BOT_TOKEN=WRONG_TOKEN,
                          BINANCE_STREAM_URL="ws://127.0.0.1:9/stream")  # as configured by default: no note about it
    code = await asyncio.wait_for(process.process.wait(), 30)
    output = process.log()
    assert code == 2, output
    [line] = output.splitlines()
    assert line.endswith(TOKEN_REFUSED) and "ERROR" in line
    assert WRONG_TOKEN not in output and WRONG_TOKEN.split(":")[1] not in output
    assert "Traceback" not in output


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_start_up_waits_for_telegram_then_carries_on(
    tmp_path: Path, exchange: FakeExchange, database_url: str
) -> None:
    port = free_port()
    telegram = FakeTelegram(url=f"http://127.0.0.1:{port}")  # not listening yet: connection refused
    process = await spawn(tmp_path, "bot", telegram, exchange, database_url)
    try:
        await process.wait_for_line("Telegram does not answer", count=2)  # 1 s, then 2 s
        await telegram.start(port)
        await process.wait_for_line(WORKING_LINE, timeout=30)
        await telegram.user_sends(USER, "/alert BTCUSDT 99999")
        await telegram.wait_for_message(USER, "✅", timeout=30)
    finally:
        assert await process.stop() == 0
        await telegram.stop()
    warnings = process.lines("Telegram does not answer")
    assert all(" WARNING " in line for line in warnings)
    assert "trying again in 1 s" in warnings[0] and "trying again in 2 s" in warnings[1]
    assert "Traceback" not in process.log()
