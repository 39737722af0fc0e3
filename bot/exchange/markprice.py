"""Mark price, index price and funding for every symbol: one reader of `!markPrice@arr@1s`.

Binance's all-market mark price stream (shared/binance-mark-price.md) sends every symbol every
second on the market streams' host (BINANCE_STREAM_URL), as arrays of entries with string
numbers; some symbols come in a message of their own, so messages are merged, never taken as the
whole market. Delivery contracts carry `r` "" and `T` 0: they have no funding.

While the stream is refused or silent, `GET /fapi/v1/premiumIndex` without a symbol (weight 10)
is read at most every `fallback_every` seconds through the REST client the charts use, so it
obeys the same weight discipline (429/418/451, and the block shared with the WebSocket API
client). One log line says when an outage starts, one when the stream is back. Funding intervals
come from `GET /fapi/v1/fundingInfo` (hourly; a symbol it does not list settles every 8 hours).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import websockets
from websockets.asyncio.client import ClientConnection, connect

from bot.exchange.client import ExchangeError
from bot.exchange.protocol import parse_price

log = logging.getLogger(__name__)

STREAM = "!markPrice@arr@1s"  # every symbol, every second (`!markPrice@arr` is every 3 s)
PREMIUM_INDEX_PATH = "/fapi/v1/premiumIndex"  # without `symbol`: every symbol, weight 10
FUNDING_INFO_PATH = "/fapi/v1/fundingInfo"  # only the symbols whose funding Binance adjusted
DEFAULT_FUNDING_HOURS = 8


@dataclass(frozen=True)
class MarkPrice:
    """One symbol's latest mark facts."""

    mark: Decimal
    index: Decimal
    funding_rate: Decimal | None  # None: a delivery contract, no funding
    next_funding_ms: int | None  # None: no funding
    event_ms: int  # Binance's event time
    received_at: float  # time.monotonic() when it arrived here


def _time_ms(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"not a time in ms: {value!r}")
    return value


def _funding(rate: Any, next_ms: Any) -> tuple[Decimal | None, int | None]:
    """`r` "" and `T` 0 (delivery contracts) mean no funding."""
    if rate == "" or rate is None:
        return None, None
    if not isinstance(rate, str):
        raise ValueError(f"funding rate is not a string: {rate!r}")
    value = Decimal(rate)  # may be negative: parse_price takes positive prices only
    if not value.is_finite():
        raise ValueError(f"funding rate is not a number: {rate!r}")
    when = _time_ms(next_ms)
    return value, (when or None)


def _positive(value: Any) -> Decimal:
    price = parse_price(value)
    if price is None:
        raise ValueError(f"not a price: {value!r}")
    return tidy(price)


def tidy(price: Decimal) -> Decimal:
    """Binance writes mark and index prices with 8 decimals ("65900.00000000"): the same number
    without the zeros past the second decimal (65900.00, 11794.15, 0.00001237), as people read it."""
    short = price.normalize()
    exponent = short.as_tuple().exponent
    return short.quantize(Decimal("0.01")) if isinstance(exponent, int) and exponent > -2 else short


def parse_stream_entry(entry: Any, received_at: float) -> tuple[str, MarkPrice]:
    """One `markPriceUpdate` entry; ValueError when it is not one we can use."""
    if not isinstance(entry, dict) or entry.get("e") != "markPriceUpdate":
        raise ValueError("not a markPriceUpdate")
    symbol = entry.get("s")
    if not isinstance(symbol, str) or not symbol:
        raise ValueError("no symbol")
    rate, next_ms = _funding(entry.get("r"), entry.get("T"))
    return symbol, MarkPrice(_positive(entry.get("p")), _positive(entry.get("i")), rate, next_ms,
                             _time_ms(entry.get("E")), received_at)


def parse_premium_entry(entry: Any, received_at: float) -> tuple[str, MarkPrice]:
    """One element of `GET /fapi/v1/premiumIndex`: `symbol`, `markPrice`, `indexPrice`,
    `lastFundingRate` ("" for delivery contracts), `nextFundingTime` (0 for them), `time`."""
    if not isinstance(entry, dict):
        raise ValueError("not an object")
    symbol = entry.get("symbol")
    if not isinstance(symbol, str) or not symbol:
        raise ValueError("no symbol")
    rate, next_ms = _funding(entry.get("lastFundingRate"), entry.get("nextFundingTime"))
    return symbol, MarkPrice(_positive(entry.get("markPrice")), _positive(entry.get("indexPrice")), rate, next_ms,
                             _time_ms(entry.get("time")), received_at)


def parse_funding_info(rows: Any) -> dict[str, int]:
    """`GET /fapi/v1/fundingInfo`: symbol -> funding interval in hours, for the symbols listed."""
    if not isinstance(rows, list):
        raise ExchangeError("fundingInfo answer is not a list")
    hours: dict[str, int] = {}
    for row in rows:
        value = row.get("fundingIntervalHours") if isinstance(row, dict) else None
        symbol = row.get("symbol") if isinstance(row, dict) else None
        if isinstance(symbol, str) and isinstance(value, int) and not isinstance(value, bool) and value > 0:
            hours[symbol] = value
        else:
            log.warning("fundingInfo: skipping an unreadable entry: %.80r", row)
    return hours


class RestReader(Protocol):
    """The REST client (bot.exchange.rest.KlineClient): one weight budget for every REST read."""

    async def get_json(self, path: str, params: dict[str, Any], what: str) -> Any: ...


@dataclass(frozen=True)
class MarkOptions:
    silence_after: float = 5.0  # seconds without a stream message: the stream counts as silent
    fallback_every: float = 5.0  # seconds between two premiumIndex reads while it is
    funding_info_every: float = 3600.0  # fundingInfo shares 500 requests / 5 min with fundingRate: rarely
    open_timeout: float = 10.0
    ping_interval: float = 30.0
    max_connection_age: float = 23 * 3600  # the server ends a connection at 24 h
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    refused_backoff: float = 300.0  # after a 451/403 handshake: retrying soon changes nothing


class MarkPrices:
    """The latest mark facts per symbol, from the stream or, while it is silent, premiumIndex."""

    def __init__(self, url: str, rest: RestReader | None, options: MarkOptions | None = None) -> None:
        self.url = url
        self.options = options or MarkOptions()
        self._rest = rest
        self._marks: dict[str, MarkPrice] = {}
        self._funding_hours: dict[str, int] = {}
        self._stream_heard_at = 0.0  # monotonic time of the last stream message with entries
        self._fallback_read_at = 0.0  # monotonic time of the last premiumIndex answer
        self._outage: str | None = None  # why the stream is down, while it is
        self._tasks: list[asyncio.Task[None]] = []
        self._connection: ClientConnection | None = None
        self._failures = 0
        self._started_at = 0.0
        self.skipped = 0  # malformed entries, since start
        self.fallback_reads = 0
        self.messages = 0

    # -- what the rest of the bot reads -------------------------------------------------------------
    @property
    def status(self) -> str:
        """"stream" (fresh from the stream), "fallback" (from premiumIndex) or "down"."""
        now = time.monotonic()
        if self._stream_fresh(now):
            return "stream"
        if self._fallback_read_at and now - self._fallback_read_at <= max(3 * self.options.fallback_every, 15.0):
            return "fallback"
        return "down"

    def latest(self, symbol: str) -> MarkPrice | None:
        return self._marks.get(symbol)

    def fresh(self, max_age: float) -> dict[str, MarkPrice]:
        """Every symbol's facts received within `max_age` seconds: older ones never fire anything."""
        oldest = time.monotonic() - max_age
        return {symbol: mark for symbol, mark in self._marks.items() if mark.received_at >= oldest}

    def funding_hours(self, symbol: str) -> int:
        return self._funding_hours.get(symbol, DEFAULT_FUNDING_HOURS)

    # -- life cycle -------------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._tasks:
            return
        loop = asyncio.get_running_loop()
        self._started_at = time.monotonic()
        self._tasks = [loop.create_task(self._keep_reading(), name="mark-stream")]
        if self._rest is not None:
            self._tasks.append(loop.create_task(self._fall_back(), name="mark-fallback"))
            self._tasks.append(loop.create_task(self._read_funding_info(), name="funding-info"))

    async def close(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:  # the reader closes its connection on the way out
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- the stream -------------------------------------------------------------------------------------
    async def _keep_reading(self) -> None:
        while True:
            try:
                await self._read_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug here must not end mark prices for good
                log.exception("mark price stream failed; starting over")
                self._down("an error in the reader")
                await asyncio.sleep(self._backoff())

    async def _read_once(self) -> None:
        options = self.options
        try:
            connection = await connect(self.url, open_timeout=options.open_timeout, ping_interval=options.ping_interval,
                                       ping_timeout=options.ping_interval, close_timeout=2, max_size=2**22)
        except websockets.InvalidStatus as exc:
            status = exc.response.status_code
            self._down(f"HTTP {status} on the handshake"
                       + (": Binance does not serve this location" if status == 451 else
                          ": a firewall refused this client" if status == 403 else ""))
            await asyncio.sleep(options.refused_backoff if status in (451, 403) else self._backoff())
            return
        except (OSError, TimeoutError, websockets.InvalidHandshake, websockets.InvalidURI) as exc:
            self._down(f"cannot connect: {exc!r}")
            await asyncio.sleep(self._backoff())
            return
        self._connection = connection
        opened = time.monotonic()
        heard = False
        try:
            await connection.send(json.dumps({"method": "SUBSCRIBE", "params": [STREAM], "id": 1}))
            while True:
                # A retired path or a broken proxy acknowledges and stays silent: silence ends the connection.
                timeout = min(options.silence_after, max(0.1, options.max_connection_age - (time.monotonic() - opened)))
                try:
                    text = await asyncio.wait_for(connection.recv(), timeout)
                except TimeoutError:
                    if time.monotonic() - opened >= options.max_connection_age:
                        log.info("mark price stream: renewing the connection before the server's 24 h limit")
                    else:
                        self._down(f"no message for {options.silence_after:g} s")
                    return
                if self._on_message(text):
                    heard = True
                    self._failures = 0
        except websockets.ConnectionClosed as exc:
            self._down(f"connection lost ({exc.rcvd.code if exc.rcvd else 'no close frame'})")
        finally:
            self._connection = None
            await connection.close()
            if not heard:
                await asyncio.sleep(self._backoff())

    def _backoff(self) -> float:
        self._failures += 1
        delay = min(self.options.backoff_cap, self.options.backoff_base * 2 ** min(self._failures - 1, 30))
        return delay * random.uniform(0.5, 1.0)  # jitter, so many bots do not reconnect in step

    def _on_message(self, text: str | bytes) -> bool:
        """Merges one message's entries; True when it carried mark prices."""
        try:
            message = json.loads(text)
        except ValueError:
            log.warning("mark price stream: ignoring a frame that is not JSON: %.80r", text)
            return False
        entries = message.get("data") if isinstance(message, dict) else message
        if not isinstance(entries, list):  # a SUBSCRIBE answer, or an error answer
            if isinstance(message, dict) and ("code" in message or isinstance(message.get("error"), dict)):
                log.warning("mark price stream: SUBSCRIBE refused: %.200r", message)
            return False
        now = time.monotonic()
        merged = self._merge(entries, now, parse_stream_entry)
        if not merged:
            return False
        self.messages += 1
        self._stream_heard_at = now
        if self._outage is not None:
            log.info("mark price stream is back (was down: %s); premiumIndex reads stop", self._outage)
            self._outage = None
        return True

    def _merge(self, entries: list[Any], now: float, parse: Any) -> int:
        merged = 0
        for entry in entries:
            try:
                symbol, mark = parse(entry, now)
            except (ValueError, ArithmeticError, TypeError) as exc:
                self.skipped += 1
                log.warning("mark prices: skipping a malformed entry (%s): %.120r", exc, entry)
                continue
            self._marks[symbol] = mark
            merged += 1
        return merged

    def _down(self, reason: str) -> None:
        if self._outage is None:
            log.warning("mark price stream down (%s): reading %s every %g s until it is back", reason,
                        PREMIUM_INDEX_PATH, self.options.fallback_every)
        self._outage = reason

    # -- the fallback and funding intervals ------------------------------------------------------------
    async def _fall_back(self) -> None:
        assert self._rest is not None
        tried_at = 0.0
        while True:
            await asyncio.sleep(self.options.fallback_every / 5)
            now = time.monotonic()
            if self._stream_fresh(now) or now - tried_at < self.options.fallback_every:
                continue
            if self._stream_heard_at == 0.0 and now - self._started_at < self.options.silence_after:
                continue  # the stream has its chance first
            tried_at = now  # after a failure too: at most one read per interval
            try:
                rows = await self._rest.get_json(PREMIUM_INDEX_PATH, {}, "premiumIndex")
            except ExchangeError as exc:  # the client logs 429/418/451 itself
                log.debug("premiumIndex not read: %s", exc)
                continue
            if not isinstance(rows, list):
                log.warning("premiumIndex answer is not a list: %.80r", rows)
                continue
            self._merge(rows, time.monotonic(), parse_premium_entry)
            self.fallback_reads += 1
            self._fallback_read_at = time.monotonic()

    def _stream_fresh(self, now: float) -> bool:
        return bool(self._stream_heard_at) and now - self._stream_heard_at <= self.options.silence_after

    async def _read_funding_info(self) -> None:
        assert self._rest is not None
        while True:
            try:
                self._funding_hours = parse_funding_info(await self._rest.get_json(FUNDING_INFO_PATH, {}, "fundingInfo"))
            except ExchangeError as exc:
                log.warning("fundingInfo not read (%s): funding intervals stay as they were (8 h by default)", exc)
                await asyncio.sleep(min(60.0, self.options.funding_info_every))
                continue
            await asyncio.sleep(self.options.funding_info_every)
