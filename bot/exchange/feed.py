"""The latest prices of every symbol, shared by the tick and the chat commands."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from decimal import Decimal

from bot.exchange.client import BinanceClient, ExchangeError
from bot.exchange.protocol import MalformedFrame, parse_ticker_prices
from bot.metrics import PRICES_TIMESTAMP

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PriceSnapshot:
    prices: dict[str, Decimal]
    trade_times: dict[str, int] = field(default_factory=dict)  # ms of each symbol's last trade
    received_at: float = field(default_factory=time.time)

    def age(self) -> float:
        return time.time() - self.received_at


class PriceFeed:
    def __init__(self, client: BinanceClient) -> None:
        self._client = client
        self._latest: PriceSnapshot | None = None
        self._refreshing: asyncio.Task[PriceSnapshot] | None = None

    @property
    def latest(self) -> PriceSnapshot | None:
        return self._latest

    @property
    def weight_used(self) -> int | None:
        return self._client.weight_used

    @property
    def weight_limit(self) -> int | None:
        return self._client.weight_limit

    async def refresh(self) -> PriceSnapshot:
        """One all-symbol `ticker.price` (weight 2). Callers arriving meanwhile share its answer."""
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.create_task(self._fetch())
        return await asyncio.shield(self._refreshing)

    async def current(self, max_age: float) -> PriceSnapshot:
        """The latest snapshot if it is younger than `max_age` seconds, else a fresh one."""
        latest = self._latest
        if latest is not None and latest.age() <= max_age:
            return latest
        return await self.refresh()

    async def _fetch(self) -> PriceSnapshot:
        result = await self._client.request("ticker.price")
        try:
            parsed = parse_ticker_prices(result)
        except MalformedFrame as exc:
            raise ExchangeError(f"unreadable ticker.price answer: {exc}") from None
        for problem in parsed.skipped:
            log.warning("skipped a ticker entry: %s", problem)
        snapshot = PriceSnapshot(prices=parsed.prices, trade_times=parsed.trade_times)
        self._latest = snapshot
        PRICES_TIMESTAMP.set(snapshot.received_at)
        return snapshot
