"""The all-market mark price reader (bot.exchange.markprice) against the fake market streams and
the fake REST server: the stream, its premiumIndex fallback, fundingInfo, malformed entries."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from bot.exchange.markprice import (
    MarkOptions, MarkPrices, parse_funding_info, parse_premium_entry, parse_stream_entry,
)
from bot.exchange.rest import KlineClient
from tests.conftest import eventually
from tests.fakes.rest import FakeBinanceRest
from tests.fakes.streams import FakeStreams

FAST = MarkOptions(silence_after=0.6, fallback_every=0.5, backoff_base=0.1, backoff_cap=0.3, refused_backoff=0.3,
                   open_timeout=2.0)

GOOD = {"e": "markPriceUpdate", "E": 1795501004357, "s": "BTCUSDT", "p": "70000.12345678", "i": "69990.00000000",
        "P": "70001.00000000", "r": "0.00010000", "T": 1795507200000}


def test_a_stream_entry_gives_mark_index_funding_and_times() -> None:
    symbol, mark = parse_stream_entry(GOOD, 5.0)
    assert symbol == "BTCUSDT"
    assert (mark.mark, mark.index, mark.funding_rate) == (Decimal("70000.12345678"), Decimal("69990"), Decimal("0.0001"))
    assert (mark.next_funding_ms, mark.event_ms, mark.received_at) == (1795507200000, 1795501004357, 5.0)


def test_a_delivery_contract_has_no_funding() -> None:
    _, mark = parse_stream_entry({**GOOD, "s": "BTCUSDT_261225", "r": "", "T": 0}, 0.0)
    assert mark.funding_rate is None and mark.next_funding_ms is None


def test_a_negative_funding_rate_is_kept() -> None:
    assert parse_stream_entry({**GOOD, "r": "-0.00031250"}, 0.0)[1].funding_rate == Decimal("-0.0003125")


@pytest.mark.parametrize("change", [
    {"p": 70000.1},  # a float, not a string
    {"p": "abc"}, {"p": "-1"}, {"p": "0"}, {"i": None}, {"s": ""}, {"s": None}, {"E": "1795501004357"},
    {"r": "x"}, {"r": 0.0001}, {"T": -1}, {"T": None}, {"e": "kline"}, {"r": "NaN"},
])
def test_malformed_stream_entries_are_refused(change: dict[str, object]) -> None:
    with pytest.raises((ValueError, ArithmeticError)):
        parse_stream_entry({**GOOD, **change}, 0.0)


def test_a_premium_index_entry_reads_like_the_stream() -> None:
    row = {"symbol": "ETHUSDT", "markPrice": "2500.10000000", "indexPrice": "2499.00000000",
           "estimatedSettlePrice": "2500.00000000", "lastFundingRate": "-0.00010000", "interestRate": "0.00010000",
           "nextFundingTime": 1795507200000, "time": 1795501004000}
    symbol, mark = parse_premium_entry(row, 1.0)
    assert symbol == "ETHUSDT" and mark.mark == Decimal("2500.1") and mark.funding_rate == Decimal("-0.0001")
    _, delivery = parse_premium_entry({**row, "lastFundingRate": "", "nextFundingTime": 0}, 1.0)
    assert delivery.funding_rate is None


def test_funding_info_lists_adjusted_intervals_and_skips_the_unreadable(caplog: pytest.LogCaptureFixture) -> None:
    rows = [{"symbol": "BTCUSDC", "fundingIntervalHours": 4}, {"symbol": "X", "fundingIntervalHours": "4"}, 7]
    assert parse_funding_info(rows) == {"BTCUSDC": 4}
    assert caplog.text.count("skipping an unreadable entry") == 2


@pytest.fixture
async def streams() -> AsyncIterator[FakeStreams]:
    fake = FakeStreams(mark_interval=0.1)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def rest() -> AsyncIterator[FakeBinanceRest]:
    fake = FakeBinanceRest()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def rest_client(rest: FakeBinanceRest) -> AsyncIterator[KlineClient]:
    client = KlineClient(rest.url, timeout=2.0)
    yield client
    await client.close()


@pytest.fixture
async def marks(streams: FakeStreams, rest: FakeBinanceRest, rest_client: KlineClient) -> AsyncIterator[MarkPrices]:
    rest.marks = streams.marks  # one market for both fakes
    reader = MarkPrices(streams.url, rest_client, FAST)
    await reader.start()
    yield reader
    await reader.close()


async def test_every_symbol_arrives_from_one_subscription_including_those_in_a_message_of_their_own(
    marks: MarkPrices, streams: FakeStreams,
) -> None:
    await eventually(lambda: marks.latest("XAUUSDT") is not None and marks.latest("BTCUSDT") is not None)
    assert [c.message["params"] for c in streams.controls("SUBSCRIBE")] == [["!markPrice@arr@1s"]]
    assert marks.status == "stream"
    assert set(marks.fresh(10.0)) == set(streams.marks.marks)
    assert marks.latest("BTCUSDT_261225").funding_rate is None  # type: ignore[union-attr]
    streams.marks.set("BTCUSDT", "71000.5", index="70990.25", rate="-0.0002")
    await eventually(lambda: marks.latest("BTCUSDT").mark == Decimal("71000.5"))  # type: ignore[union-attr]
    latest = marks.latest("BTCUSDT")
    assert latest is not None and latest.index == Decimal("70990.25") and latest.funding_rate == Decimal("-0.0002")


async def test_a_malformed_entry_is_skipped_and_logged_and_the_rest_of_its_message_kept(
    marks: MarkPrices, streams: FakeStreams, caplog: pytest.LogCaptureFixture,
) -> None:
    await eventually(lambda: marks.status == "stream")
    streams.marks_quiet = True
    good = {**GOOD, "s": "ETHUSDT", "p": "1234.50000000", "E": int(time.time() * 1000)}
    await streams.send_raw(json.dumps({"stream": "!markPrice@arr@1s", "data": [{**GOOD, "p": 1.5}, good]}))
    await eventually(lambda: marks.latest("ETHUSDT").mark == Decimal("1234.5"))  # type: ignore[union-attr]
    assert marks.skipped == 1 and "skipping a malformed entry" in caplog.text


async def test_a_silent_stream_falls_back_to_premium_index_with_one_log_line_per_outage(
    marks: MarkPrices, streams: FakeStreams, rest: FakeBinanceRest, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.exchange.markprice")
    await eventually(lambda: marks.status == "stream")
    assert rest.requests_to("/fapi/v1/premiumIndex") == []  # the stream is enough
    streams.marks_quiet = True
    streams.marks.set("BTCUSDT", "65000.1")
    await eventually(lambda: marks.latest("BTCUSDT").mark == Decimal("65000.1"), timeout=10)  # type: ignore[union-attr]
    assert marks.status == "fallback"
    reads = rest.requests_to("/fapi/v1/premiumIndex")
    assert reads and all(r.params == {} for r in reads)  # every symbol at once, weight 10
    started = reads[0].at
    await eventually(lambda: len(rest.requests_to("/fapi/v1/premiumIndex")) >= 3, timeout=10)
    times = [r.at for r in rest.requests_to("/fapi/v1/premiumIndex")]
    assert all(b - a >= FAST.fallback_every * 0.9 for a, b in zip(times, times[1:]))  # at most every few seconds
    assert caplog.text.count("mark price stream down") == 1
    streams.marks_quiet = False
    await eventually(lambda: marks.status == "stream", timeout=10)
    assert caplog.text.count("mark price stream is back") == 1
    count = len(rest.requests_to("/fapi/v1/premiumIndex"))
    await eventually(lambda: marks.messages > 3)
    assert len(rest.requests_to("/fapi/v1/premiumIndex")) <= count + 1  # no more reads once it is back
    assert started > 0


async def test_a_refused_handshake_falls_back_and_a_429_on_premium_index_is_obeyed_and_shared(
    streams: FakeStreams, rest: FakeBinanceRest, rest_client: KlineClient, caplog: pytest.LogCaptureFixture,
) -> None:
    streams.refuse_handshakes(451, json.dumps({"code": 0, "msg": "Service unavailable from a restricted location"}))
    rest.fail_next(429, retry_after=2)
    reader = MarkPrices(streams.url, rest_client, FAST)
    await reader.start()
    try:
        await eventually(lambda: len(rest.requests_to("/fapi/v1/premiumIndex")) >= 1)
        await eventually(lambda: reader.latest("BTCUSDT") is not None, timeout=10)
        assert reader.status == "fallback"
        assert rest.violations == []  # nothing sent before Retry-After
        assert rest_client.rate_limited_until > 0  # the WebSocket API client waits too (shared block)
        assert "HTTP 451 on the handshake" in caplog.text
    finally:
        await reader.close()


async def test_funding_intervals_come_from_funding_info_with_8_hours_for_the_others(
    marks: MarkPrices, rest: FakeBinanceRest,
) -> None:
    await eventually(lambda: marks.funding_hours("BTCUSDC") == 4)
    assert marks.funding_hours("BTCUSDT") == 8
    assert rest.requests_to("/fapi/v1/fundingInfo")[0].params == {}
