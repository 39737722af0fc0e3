"""Real `pricealert run` processes for the replica tests and the failover benchmark, and what
/proc says about a process's children (the chart-drawing process).

Each writes its stderr to a file (an unread pipe would block a chatty process), read back to
learn its role: `working: ...` when it takes the lock, the standby line while it waits.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.runtime.process import STANDBY_LINE
from tests.conftest import bot_env
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram

WORKING_LINE = "working: this process holds the lock"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class BotProcess:
    name: str
    process: asyncio.subprocess.Process
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def lines(self, containing: str) -> list[str]:
        return [line for line in self.log().splitlines() if containing in line]

    async def wait_for_line(self, containing: str, timeout: float = 30.0, count: int = 1) -> str:
        """The `count`-th log line containing `containing`; fails with the log if it never comes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.lines(containing)
            if len(found) >= count:
                return found[count - 1]
            if self.process.returncode is not None:
                break
            await asyncio.sleep(0.05)
        raise AssertionError(f"{self.name} never logged {containing!r}:\n{self.log()[-4000:]}")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)

    async def stop(self, timeout: float = 30.0) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), timeout)


async def spawn(tmp_path: Path, name: str, telegram: FakeTelegram, exchange: FakeExchange, database_url: str,
                **settings: str) -> BotProcess:
    """`python -m bot run` in `tmp_path`, with extra settings given by their variable names."""
    log_path = tmp_path / f"{name}.log"
    env = bot_env(telegram, exchange, database_url) | settings
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env, stderr=log,
        )
    return BotProcess(name, process, log_path)


def logged_at(line: str) -> float:
    """The epoch time of a log line (`2026-11-25 19:24:36,660 ...`, local time)."""
    stamp = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
    return stamp.timestamp()


async def working_and_standby(first: BotProcess, second: BotProcess) -> tuple[BotProcess, BotProcess]:
    """Which of two processes took the lock, once the other has said it stands by."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for working, standby in ((first, second), (second, first)):
            if working.lines(WORKING_LINE) and standby.lines(STANDBY_LINE):
                return working, standby
        await asyncio.sleep(0.05)
    raise AssertionError(f"no working/standby pair:\n{first.log()[-3000:]}\n{second.log()[-3000:]}")


async def first_ticker_request_after(exchange: FakeExchange, moment: float, timeout: float = 30.0) -> float:
    """The time of the first `ticker.price` request the exchange received after `moment`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        later = [r.at for r in exchange.ticker_requests() if r.at > moment]
        if later:
            return min(later)
        await asyncio.sleep(0.02)
    raise AssertionError("no price request after the moment")


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (which may hold spaces and parentheses):
    state first, then the parent's pid."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid`, read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(_stat(int(entry.name))[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):  # it ended meanwhile
                continue
    return found


def descendants(pid: int) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        frontier = [child for parent in frontier for child in children(parent)]
        found += frontier
    return found


def cpu_seconds(pid: int) -> float:
    """The CPU time the process has used so far (user and system, fields 14 and 15 of its stat)."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for a parent (in a container, PID 1 may never reap it)."""
    try:
        return _stat(pid)[0] != "Z"
    except FileNotFoundError:
        return False


HEAP_MAX = 64 * 2**20  # glibc's reservation for each thread's own heap on 64-bit


def thread_heaps(pid: int) -> list[str]:
    """The malloc heaps glibc made for the process's threads: read/write mappings that start on a
    64 MiB boundary, each followed by its unreadable reserve (up to 64 MiB, or beyond where it
    touches the next reserve)."""
    mappings = []  # (start, end, permissions, the line's address range)
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        addresses, permissions = line.split()[:2]
        start, end = (int(x, 16) for x in addresses.split("-"))
        mappings.append((start, end, permissions, addresses))
    return [addresses for (start, end, permissions, addresses), (after_start, after_end, after_permissions, _)
            in zip(mappings, mappings[1:])
            if start % HEAP_MAX == 0 and permissions == "rw-p" and after_permissions == "---p"
            and after_start == end and after_end - start >= HEAP_MAX]
