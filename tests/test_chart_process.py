"""The running bot draws charts in a separate process and never loads matplotlib itself.

Matplotlib with numpy and OpenBLAS weighs about 50 MiB: loaded in the bot's own process it would
be a third of its memory for a feature most chats never use.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from tests.conftest import bot_env
from tests.fakes.exchange import FakeExchange
from tests.fakes.rest import FakeBinanceRest
from tests.fakes.telegram import FakeTelegram

CHAT = 4242
PLOTTING = ("matplotlib", "numpy")


def mapped_files(pid: int) -> set[str]:
    """The files (shared libraries above all) mapped into a process."""
    lines = Path(f"/proc/{pid}/maps").read_text().splitlines()
    return {line.split(maxsplit=5)[5] for line in lines if len(line.split(maxsplit=5)) == 6}


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


async def test_the_bot_process_sends_charts_without_loading_matplotlib(
    tmp_path: Path, telegram: FakeTelegram, exchange: FakeExchange, database_url: str
) -> None:
    rest = FakeBinanceRest()
    await rest.start()
    exchange.set_price("BTCUSDT", "64000.00")
    env = bot_env(telegram, exchange, database_url)
    env["BINANCE_REST_URL"] = rest.url
    log = (tmp_path / "bot.log").open("wb")
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env, stderr=log)
    try:
        await telegram.user_sends(CHAT, "/chart BTCUSDT 1h")
        await telegram.wait_for_message(CHAT, "📈", timeout=60)
        assert telegram.photos_to(CHAT), "the chart arrives as a photo"

        ours = mapped_files(process.pid)
        assert [path for path in ours if any(name in path for name in PLOTTING)] == []
        drawers = children(process.pid)
        assert any(any(name in path for name in PLOTTING for path in mapped_files(child)) for child in drawers), (
            "a child process drew the chart"
        )
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)
        log.close()
        await rest.stop()
    assert process.returncode == 0, (tmp_path / "bot.log").read_text()
