"""The running bot draws charts in a separate process and never loads matplotlib itself.

Matplotlib with numpy and OpenBLAS weighs about 50 MiB: loaded in the bot's own process it would
be a third of its memory for a feature most chats never use.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import bot_env
from tests.fakes.exchange import FakeExchange
from tests.fakes.rest import FakeBinanceRest
from tests.fakes.telegram import FakeTelegram
from tests.processes import alive, children

CHAT = 4242
PLOTTING = ("matplotlib", "numpy")


def mapped_files(pid: int) -> set[str]:
    """The files (shared libraries above all) mapped into a process."""
    lines = Path(f"/proc/{pid}/maps").read_text().splitlines()
    return {line.split(maxsplit=5)[5] for line in lines if len(line.split(maxsplit=5)) == 6}


def draws(pid: int) -> bool:
    return any(name in path for name in PLOTTING for path in mapped_files(pid))


@pytest.fixture
async def bot(tmp_path: Path, telegram: FakeTelegram, exchange: FakeExchange,
              database_url: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """A running `pricealert run` whose /chart klines come from a fake Binance REST API."""
    rest = FakeBinanceRest()
    await rest.start()
    exchange.set_price("BTCUSDT", "64000.00")
    env = bot_env(telegram, exchange, database_url)
    env["BINANCE_REST_URL"] = rest.url
    with (tmp_path / "bot.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
                                                       stderr=log)
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await rest.stop()


async def ask_for_a_chart(telegram: FakeTelegram, bot_pid: int) -> list[int]:
    """Sends /chart and waits for the photo; the bot's children that have matplotlib loaded."""
    await telegram.user_sends(CHAT, "/chart BTCUSDT 1h")
    await telegram.wait_for_message(CHAT, "📈", timeout=60)
    assert telegram.photos_to(CHAT), "the chart arrives as a photo"
    return [child for child in children(bot_pid) if draws(child)]


async def wait_until_gone(pids: list[int], timeout: float = 10) -> list[int]:
    deadline = asyncio.get_running_loop().time() + timeout
    while [pid for pid in pids if alive(pid)] and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
    return [pid for pid in pids if alive(pid)]


async def test_the_bot_process_sends_charts_without_loading_matplotlib(
    tmp_path: Path, telegram: FakeTelegram, bot: asyncio.subprocess.Process
) -> None:
    process = bot
    await telegram.user_sends(CHAT, "/price BTCUSDT")
    await telegram.wait_for_message(CHAT, "64", timeout=60)
    before_any_chart = [child for child in children(process.pid) if draws(child)]
    drawers = await ask_for_a_chart(telegram, process.pid)
    assert drawers, "a child process drew the chart"
    assert not draws(process.pid), "the bot's own process has no matplotlib or numpy loaded"
    process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(process.wait(), 30)
    assert before_any_chart == [], "the drawing process starts with the first chart, not with the bot"
    assert process.returncode == 0, (tmp_path / "bot.log").read_text()
    assert await wait_until_gone(drawers) == [], "a clean stop stops the drawing process"


async def test_the_drawing_process_ends_when_the_bot_is_killed(
    telegram: FakeTelegram, bot: asyncio.subprocess.Process
) -> None:
    drawers = await ask_for_a_chart(telegram, bot.pid)
    assert drawers
    bot.kill()  # SIGKILL, as the OOM killer or a supervisor's timeout does
    await bot.wait()
    left = await wait_until_gone(drawers)
    assert left == [], "an orphaned drawing process would hold its memory for nobody after every restart"
