"""Reading Binance WebSocket API frames. Pure: text in, values out (see shared/binance-ws-api.md)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

_BANNED_UNTIL = re.compile(r"banned until (\d{10,})")
DEFAULT_BAN_MS = 120_000  # an IP ban lasts at least 2 minutes


class MalformedFrame(ValueError):
    """The frame is not an answer we can read."""


@dataclass(frozen=True)
class RateLimit:
    kind: str
    interval: str
    interval_num: int
    limit: int
    count: int


@dataclass(frozen=True)
class Answer:
    id: str | int | None
    status: int
    result: Any = None
    error_code: int | None = None
    error_msg: str = ""
    error_data: dict[str, Any] = field(default_factory=dict)
    rate_limits: tuple[RateLimit, ...] = ()


@dataclass(frozen=True)
class ServerEvent:
    """An unsolicited frame, like {"event": {"e": "serverShutdown"}}."""

    name: str


def parse_frame(text: str | bytes) -> Answer | ServerEvent:
    try:
        frame = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedFrame(f"not JSON: {exc}") from None
    if not isinstance(frame, dict):
        raise MalformedFrame("not a JSON object")
    event = frame.get("event")
    if isinstance(event, dict):
        return ServerEvent(name=str(event.get("e", "")))
    status = frame.get("status")
    if not isinstance(status, int) or isinstance(status, bool):
        raise MalformedFrame("no integer status")
    error = frame.get("error") if isinstance(frame.get("error"), dict) else {}
    code = error.get("code")
    return Answer(
        id=frame.get("id"),
        status=status,
        result=frame.get("result"),
        error_code=code if isinstance(code, int) else None,
        error_msg=str(error.get("msg", "")),
        error_data=error.get("data") if isinstance(error.get("data"), dict) else {},
        rate_limits=_rate_limits(frame.get("rateLimits")),
    )


def _rate_limits(raw: Any) -> tuple[RateLimit, ...]:
    limits = []
    for item in raw if isinstance(raw, list) else []:
        try:
            limits.append(
                RateLimit(
                    kind=str(item["rateLimitType"]), interval=str(item["interval"]),
                    interval_num=int(item["intervalNum"]), limit=int(item["limit"]),
                    count=int(item["count"]),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue
    return tuple(limits)


def request_weight(answer: Answer) -> RateLimit | None:
    """The per-minute REQUEST_WEIGHT counter, the one a ban is about."""
    for limit in answer.rate_limits:
        if limit.kind == "REQUEST_WEIGHT" and limit.interval == "MINUTE":
            return limit
    return None


def retry_at_ms(answer: Answer, now_ms: int) -> int:
    """When we may send again after a 429 or 418, in epoch milliseconds."""
    retry_after = answer.error_data.get("retryAfter")
    if isinstance(retry_after, int) and retry_after > now_ms:
        return retry_after
    if answer.status == 418:
        banned = _BANNED_UNTIL.search(answer.error_msg)
        if banned:
            return max(int(banned.group(1)), now_ms)
        return now_ms + DEFAULT_BAN_MS
    # REQUEST_WEIGHT counts calendar minutes: the next one starts afresh.
    return (now_ms // 60_000 + 1) * 60_000


@dataclass(frozen=True)
class TickerPrices:
    prices: dict[str, Decimal]
    trade_times: dict[str, int]
    skipped: list[str]  # one line per entry we could not read


def parse_price(raw: Any) -> Decimal | None:
    """A positive finite decimal from its string; None otherwise (floats are refused too)."""
    if not isinstance(raw, str):
        return None
    try:
        price = Decimal(raw)
    except InvalidOperation:
        return None
    if not price.is_finite() or price <= 0:
        return None
    return price


def parse_ticker_prices(result: Any) -> TickerPrices:
    """The result of `ticker.price`: a list without `symbol`, one object with it."""
    entries = result if isinstance(result, list) else [result] if isinstance(result, dict) else None
    if entries is None:
        raise MalformedFrame("ticker.price result is neither a list nor an object")
    prices: dict[str, Decimal] = {}
    times: dict[str, int] = {}
    skipped: list[str] = []
    for entry in entries:
        symbol = entry.get("symbol") if isinstance(entry, dict) else None
        if not isinstance(symbol, str) or not symbol:
            skipped.append(f"entry without symbol: {str(entry)[:80]}")
            continue
        price = parse_price(entry.get("price"))
        if price is None:
            skipped.append(f"{symbol}: price {str(entry.get('price'))[:40]!r} is not a positive decimal")
            continue
        prices[symbol] = price
        trade_time = entry.get("time")
        if isinstance(trade_time, int) and not isinstance(trade_time, bool):
            times[symbol] = trade_time
    return TickerPrices(prices=prices, trade_times=times, skipped=skipped)
