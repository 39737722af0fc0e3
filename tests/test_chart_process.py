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
    return [child for child, parent in _parents().items() if parent == pid]


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for a parent (in a container, PID 1 may never reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _parents() -> dict[int, int]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
    return found


def draws(pid: int) -> bool:
    return any(name in path for name in PLOTTING for path in mapped_files(pid))


async def start_bot(tmp_path: Path, telegram: FakeTelegram, exchange: FakeExchange, database_url: str,
                    rest: FakeBinanceRest) -> asyncio.subprocess.Process:
    exchange.set_price("BTCUSDT", "64000.00")
    env = bot_env(telegram, exchange, database_url)
    env["BINANCE_REST_URL"] = rest.url
    with (tmp_path / "bot.log").open("wb") as log:
        return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
                                                    stderr=log)


async def wait_until_gone(pids: list[int], timeout: float = 10) -> list[int]:
    deadline = asyncio.get_running_loop().time() + timeout
    while [pid for pid in pids if alive(pid)] and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
    return [pid for pid in pids if alive(pid)]


async def test_the_bot_process_sends_charts_without_loading_matplotlib(
    tmp_path: Path, telegram: FakeTelegram, exchange: FakeExchange, database_url: str
) -> None:
    rest = FakeBinanceRest()
    await rest.start()
    process = await start_bot(tmp_path, telegram, exchange, database_url, rest)
    try:
        await telegram.user_sends(CHAT, "/price BTCUSDT")
        await telegram.wait_for_message(CHAT, "64", timeout=60)
        before_any_chart = [child for child in children(process.pid) if draws(child)]
        await telegram.user_sends(CHAT, "/chart BTCUSDT 1h")
        await telegram.wait_for_message(CHAT, "📈", timeout=60)
        assert telegram.photos_to(CHAT), "the chart arrives as a photo"

        ours = mapped_files(process.pid)
        assert [path for path in ours if any(name in path for name in PLOTTING)] == []
        drawers = [child for child in children(process.pid) if draws(child)]
        assert drawers, "a child process drew the chart"
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)
        await rest.stop()
    assert before_any_chart == [], "the drawing process starts with the first chart, not with the bot"
    assert process.returncode == 0, (tmp_path / "bot.log").read_text()
    assert await wait_until_gone(drawers) == [], "a clean stop stops the drawing process"


async def test_the_drawing_process_ends_when_the_bot_is_killed(
    tmp_path: Path, telegram: FakeTelegram, exchange: FakeExchange, database_url: str
) -> None:
    rest = FakeBinanceRest()
    await rest.start()
    process = await start_bot(tmp_path, telegram, exchange, database_url, rest)
    try:
        await telegram.user_sends(CHAT, "/chart BTCUSDT 1h")
        await telegram.wait_for_message(CHAT, "📈", timeout=60)
        drawers = [child for child in children(process.pid) if draws(child)]
        assert drawers
        process.kill()  # SIGKILL, as the OOM killer or a supervisor's timeout does
        await process.wait()
        left = await wait_until_gone(drawers)
    finally:
        if process.returncode is None:
            process.kill()
        await rest.stop()
    assert left == [], "an orphaned drawing process would hold its memory for nobody after every restart"
