"""`pricealert` as an operator runs it: a real process, real signals, its stderr."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.conftest import ROOT, spawn_bot
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram

USER = 1001


async def test_run_serves_users_and_stops_cleanly_on_sigterm(
    tmp_path: Path, telegram: FakeTelegram, exchange: FakeExchange, database_url: str
) -> None:
    process = await spawn_bot(tmp_path, telegram, exchange, database_url)
    try:
        await telegram.user_sends(USER, "/alert BTCUSDT 99999")
        assert "#1" in (await telegram.wait_for_message(USER, "BTCUSDT", timeout=30)).plain
        await exchange.wait_for_requests(2)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    log = stderr.decode()
    assert process.returncode == 0, log
    assert telegram.token not in log and telegram.token.split(":")[1] not in log
    assert "pricealert starting" in log and "pricealert stopped" in log
    assert log.splitlines()[0][:2] == "20"  # lines start with a timestamp


async def test_missing_token_stops_start_up_with_one_clear_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"} | {"PYTHONPATH": ROOT}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert stderr.decode().strip() == "pricealert: TELEGRAM_BOT_TOKEN is not set"


async def test_migrate_only_migrates(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=ROOT, TELEGRAM_BOT_TOKEN="1:x", DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "migrate", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    assert (tmp_path / "m.db").stat().st_size > 0
