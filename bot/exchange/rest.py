"""Binance USDⓈ-M futures REST klines, for charts (`GET /fapi/v1/klines`, shared/binance-streams.md).

The same discipline as the WebSocket client: after a 429 nothing is sent before `Retry-After`,
after a 418 nothing until the ban ends, and while the WebSocket API client is told to wait
(REST and WebSocket share the IP's weight budget) charts wait too, so a chart can never cost
the ticks a ban; a 429 or 418 answered here makes the WebSocket client wait as well
(`rate_limited_until`), since the limit is the IP's. 451 and 403 mean Binance does not serve
this machine; the log says so once per attempt and charts rest for a while. That touches no
alert: charts fail alone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from bot.exchange.client import ExchangeError, ExchangeUnavailable, RateLimited, RequestRefused
from bot.exchange.protocol import DEFAULT_BAN_MS, parse_price

log = logging.getLogger(__name__)

KLINES_PATH = "/fapi/v1/klines"
WEIGHT_LIMIT = 2400  # REQUEST_WEIGHT per minute per IP, shared with the WebSocket API
# Charts stop before the last tenth of the minute's weight, which stays for the ticks.
CHART_WEIGHT_CEILING = int(WEIGHT_LIMIT * 0.9)
RESTRICTED_PAUSE = 300.0  # seconds: a 451/403 does not go away by retrying quickly
INVALID_SYMBOL = -1121


class RestrictedLocation(ExchangeError):
    """451 or 403: Binance refuses this machine's location (or a firewall blocks it)."""

    def __init__(self, status: int, message: str, until: float) -> None:
        super().__init__(f"status {status}: {message}")
        self.status, self.until = status, until


@dataclass(frozen=True)
class Kline:
    open_time: int  # ms, UTC
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    close_time: int


def parse_klines(rows: Any) -> list[Kline]:
    """Binance's rows `[openTime, open, high, low, close, volume, closeTime, …]`, strictly."""
    if not isinstance(rows, list):
        raise ExchangeError("klines answer is not a list")
    klines = []
    for row in rows:
        if not isinstance(row, list) or len(row) < 7:
            raise ExchangeError(f"unreadable kline row: {str(row)[:80]}")
        prices = [parse_price(value) for value in row[1:5]]
        times = [row[0], row[6]]
        if any(p is None for p in prices) or not all(isinstance(t, int) and not isinstance(t, bool) for t in times):
            raise ExchangeError(f"unreadable kline row: {str(row)[:80]}")
        open_, high, low, close = prices  # type: ignore[misc]
        klines.append(Kline(row[0], open_, high, low, close, row[6]))  # type: ignore[arg-type]
    return klines


def _seconds(header: str | None) -> float | None:
    try:
        value = float(header) if header is not None else None
    except ValueError:
        return None
    return value if value is not None and value >= 0 else None


class KlineClient:
    def __init__(
        self, base_url: str, *, timeout: float = 10.0, weight_warning_share: float = 0.5,
        shared_block: Callable[[], float] = lambda: 0.0,
    ) -> None:
        """`shared_block` returns until when (epoch seconds) the WebSocket API client must not send."""
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout,
                                       headers={"User-Agent": "pricealert"})
        self._warning_share = weight_warning_share
        self._shared_block = shared_block
        self.blocked_until = 0.0  # epoch seconds; after a 429, 418, 451 or 403
        self.rate_limited_until = 0.0  # epoch seconds; after a 429 or 418 only: the WebSocket client waits too
        self._restriction: RestrictedLocation | None = None
        self.weight_used: int | None = None
        self._weight_minute = 0
        self.requests = 0  # sent, since start

    async def klines(self, symbol: str, interval: str, limit: int) -> list[Kline]:
        """The last `limit` bars, oldest first; raises an ExchangeError when they cannot be had."""
        return parse_klines(await self.get_json(
            KLINES_PATH, {"symbol": symbol, "interval": interval, "limit": limit}, "klines"))

    async def get_json(self, path: str, params: dict[str, Any], what: str) -> Any:
        """One GET under this client's weight discipline (shared with every other REST read and
        the WebSocket API client); raises an ExchangeError when the answer cannot be had."""
        self._check_may_send()
        self.requests += 1
        try:
            response = await self._http.get(path, params=params)
        except httpx.TimeoutException:
            raise ExchangeUnavailable(f"no {what} answer in time") from None
        except httpx.HTTPError as exc:
            raise ExchangeUnavailable(f"cannot reach {self._http.base_url}: {exc!r}") from None
        self._note_weight(response, what)
        if response.status_code == 200:
            try:
                return response.json()
            except ValueError:
                raise ExchangeError(f"{what} answer is not JSON") from None
        raise self._refusal(response, what)

    def _check_may_send(self) -> None:
        now = time.time()
        if now < self.blocked_until:
            if self._restriction is not None:
                raise self._restriction
            raise RateLimited(f"rate limited, not sending until {self.blocked_until:.0f}", self.blocked_until)
        shared = self._shared_block()
        if now < shared:
            raise RateLimited("the WebSocket API is rate limited; charts wait too", shared)
        if self.weight_used is not None and self._weight_minute == int(now // 60) \
                and self.weight_used >= CHART_WEIGHT_CEILING:
            raise RateLimited("request weight nearly used up; charts wait for the next minute", (now // 60 + 1) * 60)

    def _note_weight(self, response: httpx.Response, what: str = "klines") -> None:
        try:
            used = int(response.headers["X-MBX-USED-WEIGHT-1M"])
        except (KeyError, ValueError):
            return
        self.weight_used, self._weight_minute = used, int(time.time() // 60)
        if used > WEIGHT_LIMIT * self._warning_share:
            log.warning("request weight %d of %d this minute (%s)", used, WEIGHT_LIMIT, what)

    def _refusal(self, response: httpx.Response, what: str = "klines") -> ExchangeError:
        status = response.status_code
        code, message = _error_body(response)
        now = time.time()
        if status in (418, 429):
            wait = _seconds(response.headers.get("Retry-After"))
            if wait is None:  # a 429 lasts until the next calendar minute; a ban at least 2 minutes
                wait = DEFAULT_BAN_MS / 1000 if status == 418 else (now // 60 + 1) * 60 - now
            self._restriction = None
            self.blocked_until = max(self.blocked_until, now + wait)
            self.rate_limited_until = max(self.rate_limited_until, now + wait)
            log.log(logging.ERROR if status == 418 else logging.WARNING,
                    "%s answered %d (%s): sending nothing for %.0f s", what, status, message, wait)
            return RateLimited(f"{what}: status {status}", self.blocked_until)
        if status in (451, 403):
            self.blocked_until = max(self.blocked_until, now + RESTRICTED_PAUSE)
            cause = ("Binance does not serve this machine's location" if status == 451
                     else "a firewall in front of Binance refuses this machine")
            log.error("charts unavailable: %s answered HTTP %d (%s): %s; run the bot from a location "
                      "Binance serves (charts pause for %.0f s; alerts are not affected)",
                      what, status, message[:200] or "no message", cause, RESTRICTED_PAUSE)
            self._restriction = RestrictedLocation(status, message, self.blocked_until)
            return self._restriction
        if status >= 500:
            return ExchangeUnavailable(f"{what}: status {status} {message}")
        return RequestRefused(status, code, message)

    async def close(self) -> None:
        await self._http.aclose()


def _error_body(response: httpx.Response) -> tuple[int | None, str]:
    """Binance's `{"code": -1121, "msg": "Invalid symbol."}`, or the start of whatever came."""
    try:
        body = response.json()
    except ValueError:
        return None, response.text[:200]
    if isinstance(body, dict):
        code = body.get("code")
        return (code if isinstance(code, int) and not isinstance(code, bool) else None), str(body.get("msg", ""))
    return None, str(body)[:200]
