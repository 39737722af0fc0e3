"""The exchange client against the fake Binance server: every fault the real one can produce."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from bot.exchange.client import (
    BinanceClient, ClientOptions, ExchangeError, ExchangeUnavailable, RateLimited, RequestRefused,
)
from bot.exchange.feed import PriceFeed
from tests.fakes.exchange import FakeExchange

FAST = ClientOptions(request_timeout=2.0, backoff_base=0.1, backoff_cap=0.4, ping_interval=30)


@pytest.fixture
async def client(exchange: FakeExchange) -> AsyncIterator[BinanceClient]:
    client = BinanceClient(exchange.url, FAST)
    yield client
    await client.close()


def make_client(exchange: FakeExchange, **options: float) -> BinanceClient:
    return BinanceClient(exchange.url, ClientOptions(**{**FAST.__dict__, **options}))


async def eventually(request, timeout: float = 5.0):  # noqa: ANN001, ANN201
    """Calls `request` until it succeeds, as successive ticks would."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await request()
        except ExchangeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.02)


async def test_requests_share_one_connection_and_are_matched_by_id(client: BinanceClient, exchange: FakeExchange) -> None:
    exchange.delay_next(0.3)
    everything = asyncio.create_task(client.request("ticker.price"))
    await exchange.wait_for_requests(1)
    one = await client.request("ticker.price", {"symbol": "BTCUSDT"})
    assert not everything.done()  # the later request was answered first
    assert one["symbol"] == "BTCUSDT"
    assert len(await everything) == len(exchange.prices)
    assert exchange.handshakes == 1


async def test_unanswered_request_fails_alone_and_leaves_no_waiter(exchange: FakeExchange) -> None:
    client = make_client(exchange, request_timeout=0.3)
    try:
        exchange.ignore_next()
        with pytest.raises(ExchangeUnavailable, match="no answer"):
            await client.request("ticker.price")
        assert client.in_flight == 0
        assert len(await client.request("ticker.price")) == len(exchange.prices)
        assert exchange.handshakes == 1
    finally:
        await client.close()


@pytest.mark.parametrize("abort", [False, True], ids=["close-frame", "network-drop"])
async def test_reconnects_after_a_disconnect(client: BinanceClient, exchange: FakeExchange, abort: bool) -> None:
    await client.request("ticker.price")
    exchange.close_on_next(abort=abort)
    with pytest.raises(ExchangeUnavailable, match="connection lost"):
        await client.request("ticker.price")
    assert client.in_flight == 0
    # The connection had worked, so the next tick reconnects at once.
    assert len(await client.request("ticker.price")) == len(exchange.prices)
    assert exchange.handshakes == 2


async def test_connection_is_renewed_before_the_servers_24_hour_limit(exchange: FakeExchange) -> None:
    client = make_client(exchange, max_connection_age=0.0)
    try:
        await client.request("ticker.price")
        await client.request("ticker.price")
        assert exchange.handshakes == 2
        assert 1000 in exchange.close_codes  # the old one was closed cleanly, not dropped
    finally:
        await client.close()


async def test_refused_handshakes_back_off_exponentially_with_jitter_and_a_cap(client: BinanceClient, exchange: FakeExchange) -> None:
    exchange.refuse_handshakes(5)
    tries = 0

    async def tick() -> object:
        nonlocal tries
        tries += 1
        return await client.request("ticker.price")

    await eventually(tick, timeout=10)
    attempts = exchange.handshake_attempts
    assert len(attempts) == 6  # five refused, then the one that worked
    gaps = [b - a for a, b in zip(attempts, attempts[1:])]
    # base 0.1 s doubling, times a jitter in [0.5, 1], capped at 0.4 s
    for gap, ceiling in zip(gaps, [0.1, 0.2, 0.4, 0.4, 0.4]):
        assert ceiling * 0.5 - 0.02 <= gap <= ceiling + 0.1
    assert tries > 10  # ticks in between failed at once instead of waiting on a dead connection


async def test_next_tick_after_the_server_is_back_succeeds(client: BinanceClient, exchange: FakeExchange) -> None:
    await client.request("ticker.price")
    await exchange.stop()
    with pytest.raises(ExchangeUnavailable):
        await client.request("ticker.price")
    with pytest.raises(ExchangeUnavailable):
        await client.request("ticker.price")
    await exchange.restart()
    assert len(await eventually(lambda: client.request("ticker.price"))) == len(exchange.prices)


async def test_server_pings_are_answered(client: BinanceClient, exchange: FakeExchange) -> None:
    await client.request("ticker.price")
    await exchange.ping_clients(timeout=1.0)  # raises if no pong comes back


async def test_a_silently_dead_connection_is_found_by_our_pings(exchange: FakeExchange, caplog: pytest.LogCaptureFixture) -> None:
    client = make_client(exchange, ping_interval=0.2)
    try:
        await client.request("ticker.price")
        await exchange.go_silent()
        with caplog.at_level(logging.WARNING):
            deadline = time.monotonic() + 5
            while client._connection is not None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        assert client._connection is None
        assert "exchange connection lost" in caplog.text
        await eventually(lambda: client.request("ticker.price"))
        assert exchange.handshakes == 2
    finally:
        await client.close()


async def test_server_shutdown_event_makes_us_reconnect(client: BinanceClient, exchange: FakeExchange) -> None:
    await client.request("ticker.price")
    await exchange.announce_shutdown()
    await exchange.wait_for_connections(1)
    deadline = time.monotonic() + 5
    while client._connection is not None and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    await client.request("ticker.price")
    assert exchange.handshakes == 2


async def test_after_429_nothing_is_sent_before_retry_after(client: BinanceClient, exchange: FakeExchange) -> None:
    await client.request("ticker.price")
    retry_after = int(time.time() * 1000) + 800
    exchange.fail_next_with(429, -1003, "Too many requests.", {"serverTime": 0, "retryAfter": retry_after})
    with pytest.raises(RateLimited):
        await client.request("ticker.price")
    sent = len(exchange.received)
    with pytest.raises(RateLimited):
        await client.request("ticker.price")
    assert len(exchange.received) == sent  # refused locally, never sent
    await eventually(lambda: client.request("ticker.price"))
    assert exchange.received[sent].at * 1000 >= retry_after
    assert all(code != 418 for code in exchange.close_codes)


async def test_429_without_retry_after_waits_for_the_next_minute(client: BinanceClient, exchange: FakeExchange) -> None:
    exchange.fail_next_with(429, -1003, "Too many requests.")
    with pytest.raises(RateLimited) as caught:
        await client.request("ticker.price")
    assert caught.value.until == (int(time.time()) // 60 + 1) * 60


async def test_418_stops_until_the_ban_ends_and_logs_an_error(client: BinanceClient, exchange: FakeExchange, caplog: pytest.LogCaptureFixture) -> None:
    until = int(time.time() * 1000) + 3_600_000
    exchange.fail_next_with(418, -1003, f"Way too many requests; IP banned until {until}.")
    with caplog.at_level(logging.ERROR):
        with pytest.raises(RateLimited):
            await client.request("ticker.price")
    assert client.blocked_until == until / 1000
    assert any(r.levelno == logging.ERROR and "418" in r.getMessage() for r in caplog.records)
    sent = len(exchange.received)
    with pytest.raises(RateLimited):
        await client.request("ticker.price")
    assert len(exchange.received) == sent


async def test_weight_use_is_tracked_and_warned_about(client: BinanceClient, exchange: FakeExchange, caplog: pytest.LogCaptureFixture) -> None:
    await client.request("ticker.price")
    assert client.weight_used == 5 + 2 and client.weight_limit == 2400  # handshake + request
    exchange.use_weight(1500)  # another program on the same IP
    with caplog.at_level(logging.WARNING):
        await client.request("ticker.price")
    assert "request weight 1509 of 2400" in caplog.text


@pytest.mark.parametrize(("status", "code"), [(400, -1121), (403, -1000), (503, -1001)])
async def test_error_answers_fail_that_request_only(client: BinanceClient, exchange: FakeExchange, status: int, code: int) -> None:
    exchange.fail_next_with(status, code, "nope")
    with pytest.raises(RequestRefused) as caught:
        await client.request("ticker.price")
    assert (caught.value.status, caught.value.code) == (status, code)
    assert len(await client.request("ticker.price")) == len(exchange.prices)


async def test_non_json_frame_is_logged_and_its_request_times_out(exchange: FakeExchange, caplog: pytest.LogCaptureFixture) -> None:
    client = make_client(exchange, request_timeout=0.3)
    try:
        exchange.answer_next_with(lambda request_id: "<html>502 Bad Gateway</html>")
        with caplog.at_level(logging.WARNING):
            with pytest.raises(ExchangeUnavailable):
                await client.request("ticker.price")
        assert "not JSON" in caplog.text
        await client.request("ticker.price")
    finally:
        await client.close()


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 200, "rateLimits": []},  # no result
        {"status": 200, "result": "BTCUSDT"},  # a result of the wrong shape
    ],
    ids=["no-result", "wrong-shape"],
)
async def test_unreadable_results_fail_the_tick_not_the_process(client: BinanceClient, exchange: FakeExchange, answer: dict) -> None:
    feed = PriceFeed(client)
    exchange.answer_next_with(lambda request_id: json.dumps({"id": request_id, **answer}))
    with pytest.raises(ExchangeError):
        await feed.refresh()
    assert (await feed.refresh()).prices


async def test_bad_entries_are_skipped_and_the_rest_still_count(client: BinanceClient, exchange: FakeExchange, caplog: pytest.LogCaptureFixture) -> None:
    feed = PriceFeed(client)
    exchange.answer_next_with(lambda request_id: json.dumps({"id": request_id, "status": 200, "result": [
        {"symbol": "BTCUSDT", "price": "64000.10", "time": 1},
        {"symbol": "ETHUSDT", "price": "-5", "time": 1},
        {"symbol": "XRPUSDT", "price": 0.5, "time": 1},
        {"price": "1"},
    ]}))
    with caplog.at_level(logging.WARNING):
        snapshot = await feed.refresh()
    assert snapshot.prices == {"BTCUSDT": Decimal("64000.10")}
    assert caplog.text.count("skipped a ticker entry") == 3


async def test_close_cancels_requests_in_flight_and_closes_cleanly(client: BinanceClient, exchange: FakeExchange) -> None:
    await client.request("ticker.price")
    exchange.ignore_next()
    waiting = asyncio.create_task(client.request("ticker.price"))
    await exchange.wait_for_requests(2)
    await client.close()
    with pytest.raises(ExchangeUnavailable):
        await asyncio.wait_for(waiting, 1.0)
    await exchange.stop()
    assert exchange.close_codes == [1000]
