"""`/healthz` and `/metrics` of real processes, read as a supervisor and Prometheus would."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot.memory import can_give_back
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram
from tests.processes import WORKING_LINE, free_port, spawn, working_and_standby

USER = 8001


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as answer:
            return answer.status, await answer.text()


async def wait_for_status(url: str, status: int, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    seen: tuple[int, str] = (0, "")
    while time.monotonic() < deadline:
        seen = await get(url)
        if seen[0] == status:
            assert len(seen[1].strip().splitlines()) == 1  # one JSON line
            return json.loads(seen[1])
        await asyncio.sleep(0.2)
    raise AssertionError(f"{url} never answered {status}; last: {seen}")


def samples(text: str) -> dict[str, float]:
    """Every sample of the pricealert_* metrics by name (and labels), through the official parser."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("pricealert_"):
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()) if k != "le")
                key = f"{sample.name}{{{labels}}}" if labels else sample.name
                if "le" not in sample.labels:
                    found[key] = sample.value
    return found


async def test_healthz_turns_503_without_fresh_prices_and_back_to_200(
    tmp_path: Path, telegram: FakeTelegram, exchange: FakeExchange, database_url: str
) -> None:
    port = free_port()
    health = f"http://127.0.0.1:{port}/healthz"
    process = await spawn(tmp_path, "bot", telegram, exchange, database_url,
                          METRICS_LISTEN=f"127.0.0.1:{port}", STALE_AFTER="2")
    try:
        await process.wait_for_line(WORKING_LINE)
        await telegram.user_sends(USER, "/alert BTCUSDT 99999")
        await telegram.wait_for_message(USER, "✅", timeout=30)
        healthy = await wait_for_status(health, 200)
        await exchange.stop()  # Binance is gone: no fresh prices
        stale = await wait_for_status(health, 503)
        await exchange.restart()
        recovered = await wait_for_status(health, 200, timeout=90)  # after the client's backoff
    finally:
        await process.stop()
    assert healthy["role"] == "working" and healthy["database"] is True and healthy["prices_age"] < 2
    assert stale["status"] == "no fresh prices" and stale["prices_age"] >= 2  # shown rounded to 0.1 s
    assert recovered["status"] == "ok"


async def test_metrics_on_the_webhook_port_count_the_work_of_each_replica(
    tmp_path: Path, telegram: FakeTelegram, exchange: FakeExchange, database_url: str
) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    ports = {"first": free_port(), "second": free_port()}
    processes = []
    for name, port in ports.items():
        listen = f"127.0.0.1:{port}"  # webhook, /healthz and /metrics on one port
        processes.append(await spawn(tmp_path, name, telegram, exchange, database_url, WEBHOOK_URL=f"http://{listen}/hook",
                                     WEBHOOK_LISTEN=listen, METRICS_LISTEN=listen, MEMORY_TRIM_INTERVAL="0.5"))
        if name == "first":
            await processes[0].wait_for_line(WORKING_LINE)
    working, standby = await working_and_standby(*processes)
    telegram.webhook_routes = [f"http://127.0.0.1:{ports[working.name]}"]
    try:
        await telegram.wait_for_webhook()
        await telegram.user_sends(USER, "/alert BTCUSDT 65000")
        await telegram.user_sends(USER + 1, "/alert BTCUSDT 99999")  # stays active
        await telegram.wait_for_message(USER + 1, "✅", timeout=30)
        exchange.set_price("BTCUSDT", "65000.00")
        await telegram.wait_for_message(USER, "🔔", timeout=30)
        await exchange.wait_for_requests(len(exchange.ticker_requests()) + 2)
        _, working_text = await get(f"http://127.0.0.1:{ports[working.name]}/metrics")
        _, standby_text = await get(f"http://127.0.0.1:{ports[standby.name]}/metrics")
        standby_health = await wait_for_status(f"http://127.0.0.1:{ports[standby.name]}/healthz", 200)
    finally:
        await standby.stop()
        await working.stop()
    work, stand = samples(working_text), samples(standby_text)
    assert work["pricealert_working"] == 1 and stand["pricealert_working"] == 0
    assert work["pricealert_ticks_total"] >= 2 and stand["pricealert_ticks_total"] == 0
    assert work["pricealert_tick_seconds_count"] >= 2
    assert work["pricealert_alerts_fired_total"] == 1
    assert work["pricealert_messages_sent_total"] == 1
    assert work["pricealert_exchange_weight_used"] > 0
    assert time.time() - 10 < work["pricealert_prices_timestamp_seconds"] <= time.time()
    assert work["pricealert_outbox_pending"] == 0
    for name in ("pricealert_active_alerts", "pricealert_exchange_reconnects_total",
                 "pricealert_exchange_rate_limited_total", "pricealert_telegram_retry_after_total"):
        assert name in work and name in stand
    assert standby_health["role"] == "standby"
    if can_give_back():  # glibc: both roles hand freed memory back, every MEMORY_TRIM_INTERVAL
        assert work["pricealert_memory_returned_bytes_count"] >= 1
        assert stand["pricealert_memory_returned_bytes_count"] >= 1


async def test_healthz_says_when_binance_refuses_the_location(
    tmp_path: Path, telegram: FakeTelegram, exchange: FakeExchange, database_url: str
) -> None:
    port = free_port()
    health = f"http://127.0.0.1:{port}/healthz"
    process = await spawn(tmp_path, "bot", telegram, exchange, database_url,
                          METRICS_LISTEN=f"127.0.0.1:{port}", STALE_AFTER="1")
    try:
        await process.wait_for_line(WORKING_LINE)
        await telegram.user_sends(USER, "/alert BTCUSDT 99999")
        await telegram.wait_for_message(USER, "✅", timeout=30)
        await wait_for_status(health, 200)
        exchange.restrict(451)
        exchange.close_on_next(abort=True)  # the connection drops; the next handshake meets the restriction
        refused = await wait_for_status(health, 503)
    finally:
        await process.stop()
    assert refused["status"] == "Binance refuses this location" and refused["restricted_location"] is True


async def test_metrics_show_the_prices_kept_for_move_alerts_until_none_is_left(
    tmp_path: Path, telegram: FakeTelegram, exchange: FakeExchange, database_url: str
) -> None:
    """A `% over time` alert makes the bot keep that symbol's recent prices in memory; Prometheus
    sees how many, and sees them go when the last such alert is deleted."""
    port = free_port()
    metrics = f"http://127.0.0.1:{port}/metrics"
    process = await spawn(tmp_path, "bot", telegram, exchange, database_url, METRICS_LISTEN=f"127.0.0.1:{port}")
    try:
        await process.wait_for_line(WORKING_LINE)
        await telegram.user_sends(USER, "/alert BTCUSDT 5% 1h")
        await telegram.wait_for_message(USER, "✅", timeout=30)
        for price in ("64000.00", "64100.00", "63900.00", "64050.00"):
            exchange.set_price("BTCUSDT", price)
            await exchange.wait_for_requests(len(exchange.ticker_requests()) + 2)
        kept = samples((await get(metrics))[1])["pricealert_move_history_entries"]
        await telegram.user_sends(USER, "/delete 1")
        await telegram.wait_for_message(USER, "🗑", timeout=30)
        deadline = time.monotonic() + 10  # the next tick finds no active alert: it asks Binance nothing
        while (left := samples((await get(metrics))[1])["pricealert_move_history_entries"]) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
    finally:
        await process.stop()
    assert kept >= 3  # 63900 is the window's low; 64050 after it; 64100 its high
    assert left == 0
