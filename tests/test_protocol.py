"""Reading the exchange's frames: answers, errors, rate limits and the all-symbol price list."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from bot.exchange.protocol import (
    Answer, MalformedFrame, ServerEvent, parse_frame, parse_ticker_prices, request_weight, retry_at_ms,
)

REAL_ANSWER = json.loads((Path(__file__).parent / "data" / "ticker_price_all_2021-07-22.json").read_text())


def test_real_all_symbol_answer_is_read_exactly() -> None:
    parsed = parse_ticker_prices(REAL_ANSWER)
    assert len(parsed.prices) == len(REAL_ANSWER) and not parsed.skipped
    first = REAL_ANSWER[1]
    assert parsed.prices[first["symbol"]] == Decimal(first["price"])
    assert str(parsed.prices[first["symbol"]]) == first["price"]  # trailing zeros kept: "7.3610"


def test_one_symbol_answer_is_an_object() -> None:
    parsed = parse_ticker_prices({"price": "6000.01", "time": 1, "symbol": "BTCUSDT"})
    assert parsed.prices == {"BTCUSDT": Decimal("6000.01")}


@pytest.mark.parametrize(
    "entry",
    [{"symbol": "A", "price": 1.5}, {"symbol": "A", "price": "-1"}, {"symbol": "A", "price": "0"},
     {"symbol": "A", "price": "NaN"}, {"symbol": "A", "price": "abc"}, {"symbol": "A"}, {"price": "1"},
     {"symbol": "", "price": "1"}, "BTCUSDT", None],
)
def test_a_bad_entry_is_skipped_and_the_rest_still_count(entry: object) -> None:
    parsed = parse_ticker_prices([entry, {"symbol": "ETHUSDT", "price": "2000.10", "time": 5}])
    assert parsed.prices == {"ETHUSDT": Decimal("2000.10")}
    assert len(parsed.skipped) == 1


@pytest.mark.parametrize("result", [None, "x", 5])
def test_a_result_of_the_wrong_shape_is_malformed(result: object) -> None:
    with pytest.raises(MalformedFrame):
        parse_ticker_prices(result)


@pytest.mark.parametrize("text", ["not json", "[]", '{"id": 1}', '{"status": "200"}', b"\xff"])
def test_unreadable_frames_are_malformed(text: str | bytes) -> None:
    with pytest.raises(MalformedFrame):
        parse_frame(text)


def test_error_answer_with_rate_limits() -> None:
    frame = parse_frame(json.dumps({
        "id": None, "status": 429,
        "error": {"code": -1003, "msg": "Too many requests", "data": {"serverTime": 1, "retryAfter": 2}},
        "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                        "limit": 2400, "count": 2401}],
    }))
    assert isinstance(frame, Answer)
    assert (frame.status, frame.error_code, frame.error_data["retryAfter"]) == (429, -1003, 2)
    weight = request_weight(frame)
    assert weight is not None and (weight.count, weight.limit) == (2401, 2400)


def test_server_shutdown_event() -> None:
    assert parse_frame('{"event": {"e": "serverShutdown", "E": 1}}') == ServerEvent("serverShutdown")


NOW = 1_700_000_030_000  # 50 s into the minute that ends at 1_700_000_040_000


@pytest.mark.parametrize(
    ("status", "msg", "data", "expected"),
    [
        (429, "", {"retryAfter": NOW + 5000}, NOW + 5000),
        (429, "", {}, 1_700_000_040_000),  # the next calendar minute
        (418, "Way too many requests; IP banned until 1700000999000.", {}, 1_700_000_999_000),
        (418, "banned", {}, NOW + 120_000),
    ],
)
def test_when_we_may_send_again(status: int, msg: str, data: dict, expected: int) -> None:
    answer = Answer(id=1, status=status, error_code=-1003, error_msg=msg, error_data=data)
    assert retry_at_ms(answer, NOW) == expected
