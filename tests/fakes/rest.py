"""A local Binance USDⓈ-M futures REST server for `GET /fapi/v1/klines`, strict like the real one.

It validates parameters with Binance's error codes (400 with `{"code": -1121, "msg": "Invalid
symbol."}`, -1120 for an interval), counts REQUEST_WEIGHT per calendar minute in the
`X-MBX-USED-WEIGHT-1M` header, and bans (418) a client that calls again before the
`Retry-After` of a 429. Klines are generated: a seeded random walk that ends at the symbol's
current price, written at the price's own precision. Faults are injected with `fail_next`.

`GET /fapi/v1/premiumIndex` (weight 10 without `symbol`, 1 with) and `GET /fapi/v1/fundingInfo`
(weight 0 in the minute's count; Binance limits it to 500 requests per 5 minutes instead) answer
from `marks` (tests/fakes/marks.py), with the same weight header, faults and bans.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import web

from tests.fakes.exchange import initial_prices
from tests.fakes.marks import FakeMarks

# shared/binance-streams.md, "REST klines"
INTERVALS = {"1m": 60, "3m": 180, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600, "2h": 7200, "4h": 14_400,
             "6h": 21_600, "8h": 28_800, "12h": 43_200, "1d": 86_400, "3d": 259_200, "1w": 604_800,
             "1M": 2_592_000}
RESTRICTED = ("Service unavailable from a restricted location according to 'b. Eligibility' in "
              "https://www.binance.com/en/terms. Please contact customer service if you believe you "
              "received this message in error.")


def kline_weight(limit: int) -> int:
    return 1 if limit < 100 else 2 if limit < 500 else 5 if limit <= 1000 else 10


def generate_klines(symbol: str, price: str, interval: str, limit: int, now_ms: int, seed: int = 0) -> list[list[Any]]:
    """`limit` rows in Binance's format ending with the bar open at `now_ms`, whose close is `price`.

    A random walk with drifting volatility (calm stretches and bursts), wicks beyond the bodies,
    and every price at the decimals `price` is written with.
    """
    step = INTERVALS[interval] * 1000
    last_open = now_ms // step * step
    decimals = max(0, -Decimal(price).as_tuple().exponent)  # type: ignore[operator]
    quantum = Decimal(1).scaleb(-decimals)
    rng = random.Random(f"{symbol}/{interval}/{seed}")
    sigma = 0.0009 * math.sqrt(INTERVALS[interval] / 60)
    closes = [float(price)]
    volatility = 1.0
    for _ in range(limit):  # backwards from the current price
        volatility = min(3.0, max(0.4, volatility * math.exp(rng.gauss(0, 0.25))))
        closes.append(closes[-1] / math.exp(rng.gauss(0.0002, sigma * volatility)))
    closes.reverse()  # closes[0] is the open of the first bar
    rows = []
    for i in range(limit):
        open_, close = closes[i], closes[i + 1]
        wick = sigma * abs(rng.gauss(0, 0.6))
        high = max(open_, close) * (1 + wick * rng.random())
        low = min(open_, close) * (1 - wick * rng.random())
        values = [Decimal(repr(v)).quantize(quantum) for v in (open_, high, low, close)]
        values = [max(v, quantum) for v in values]
        if i == limit - 1:
            values[3] = Decimal(price)
            values[1], values[2] = max(values[1], values[3]), min(values[2], values[3])
        open_time = last_open - (limit - 1 - i) * step
        volume = f"{rng.uniform(50, 5000):.3f}"
        rows.append([open_time, *(f"{v:f}" for v in values), volume, open_time + step - 1, "0", rng.randint(100, 9000),
                     "0", "0", "0"])
    return rows


@dataclass
class KlineRequest:
    at: float
    params: dict[str, str]
    status: int
    path: str = "/fapi/v1/klines"


@dataclass
class FakeBinanceRest:
    prices: dict[str, str] = field(default_factory=initial_prices)
    url: str = ""
    requests: list[KlineRequest] = field(default_factory=list)
    violations: list[KlineRequest] = field(default_factory=list)  # sent while told to wait
    delay: float = 0.0  # seconds each answer takes
    marks: FakeMarks = field(default_factory=FakeMarks.from_prices)
    weight_used: int = 0
    _minute: int = 0
    _blocked_until: float = 0.0
    _faults: list[tuple[int, dict[str, Any] | None, float | None]] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/fapi/v1/klines", self._klines)
        app.router.add_get("/fapi/v1/premiumIndex", self._premium_index)
        app.router.add_get("/fapi/v1/fundingInfo", self._funding_info)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def fail_next(self, status: int, *, retry_after: float | None = None, body: dict[str, Any] | None = None) -> None:
        """The next request gets `status` (429, 418, 451, 403, 5xx) with Binance's body and headers."""
        self._faults.append((status, body, retry_after))

    async def wait_for_requests(self, count: int, timeout: float = 10.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(self.requests) >= count), timeout)

    def requests_to(self, path: str) -> list[KlineRequest]:
        return [r for r in self.requests if r.path == path]

    async def _premium_index(self, request: web.Request) -> web.Response:
        return await self._klines(request, self._answer_premium_index)

    async def _funding_info(self, request: web.Request) -> web.Response:
        return await self._klines(request, self._answer_funding_info)

    def _weigh(self, now: float, weight: int) -> None:
        minute = int(now // 60)
        if minute != self._minute:
            self._minute, self.weight_used = minute, 0
        self.weight_used += weight

    async def _answer_premium_index(self, params: dict[str, str], now: float) -> web.Response:
        symbol = params.get("symbol")
        self._weigh(now, 1 if symbol else 10)
        body = self.marks.premium_index(symbol)
        if body is None:
            return _error(400, -1121, "Invalid symbol.", weight=self.weight_used)
        return web.json_response(body, headers={"X-MBX-USED-WEIGHT-1M": str(self.weight_used)})

    async def _answer_funding_info(self, params: dict[str, str], now: float) -> web.Response:
        self._weigh(now, 0)
        return web.json_response(self.marks.funding_info(), headers={"X-MBX-USED-WEIGHT-1M": str(self.weight_used)})

    async def _klines(self, request: web.Request, answer: Any = None) -> web.Response:
        params = dict(request.query)
        now = time.time()
        violation = now < self._blocked_until
        response = await self._guarded(params, now, answer or self._answer)
        async with self._changed:
            entry = KlineRequest(now, params, response.status, request.path)
            self.requests.append(entry)
            if violation:
                self.violations.append(entry)
            self._changed.notify_all()
        if self.delay:
            await asyncio.sleep(self.delay)
        return response

    async def _guarded(self, params: dict[str, str], now: float, answer: Any) -> web.Response:
        """Bans and injected faults come first, whatever the path."""
        if now < self._blocked_until or self._faults:
            return await self._answer(params, now)
        return await answer(params, now)

    async def _answer(self, params: dict[str, str], now: float) -> web.Response:
        if now < self._blocked_until:  # called again before Retry-After: banned, like Binance does
            self._blocked_until = now + 120
            return _error(418, -1003, "Way too many requests; IP banned until "
                          f"{int(self._blocked_until * 1000)}.", retry_after=120)
        if self._faults:
            status, body, retry_after = self._faults.pop(0)
            if status in (418, 429):
                wait = retry_after if retry_after is not None else 60
                self._blocked_until = now + wait
                return _error(status, -1003, "Too many requests; current limit of IP is 2400 requests per minute.",
                              retry_after=wait, body=body)
            if status == 451:
                return web.json_response(body or {"code": 0, "msg": RESTRICTED}, status=451)
            if status == 403:
                return web.Response(status=403, text="<html><body>403 Forbidden</body></html>",
                                    content_type="text/html")
            return _error(status, -1000, "An unknown error occurred while processing the request.", body=body)
        symbol, interval, limit_text = params.get("symbol", ""), params.get("interval", ""), params.get("limit", "500")
        if not symbol:
            return _error(400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
        if not interval:
            return _error(400, -1102, "Mandatory parameter 'interval' was not sent, was empty/null, or malformed.")
        if interval not in INTERVALS:
            return _error(400, -1120, "Invalid interval.")
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= 1500:
            return _error(400, -1130, "Data sent for parameter 'limit' is not valid.")
        limit = int(limit_text)
        minute = int(now // 60)
        if minute != self._minute:
            self._minute, self.weight_used = minute, 0
        self.weight_used += kline_weight(limit)
        price = self.prices.get(symbol)
        if price is None:
            return _error(400, -1121, "Invalid symbol.", weight=self.weight_used)
        rows = generate_klines(symbol, price, interval, limit, int(now * 1000))
        return web.json_response(rows, headers={"X-MBX-USED-WEIGHT-1M": str(self.weight_used)})


def _error(status: int, code: int, message: str, *, retry_after: float | None = None,
           body: dict[str, Any] | None = None, weight: int | None = None) -> web.Response:
    headers = {}
    if retry_after is not None:
        headers["Retry-After"] = str(math.ceil(retry_after))
    if weight is not None:
        headers["X-MBX-USED-WEIGHT-1M"] = str(weight)
    return web.json_response(body or {"code": code, "msg": message}, status=status, headers=headers)
