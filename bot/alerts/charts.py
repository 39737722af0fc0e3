"""Charts for /chart and the 📈 buttons: klines from the exchange, the chat's levels from storage,
the picture from bot.charts, drawn off the event loop.

Fifty users asking for the same chart cost one klines request and one drawing: klines are kept
30 s per (symbol, interval) and pictures 30 s per (symbol, interval, levels, mark), and a caller
arriving while one is being made waits for that one instead of starting another. Drawing runs
in a separate process, so a burst of charts never holds up the event loop (and the ticks).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import time
from collections.abc import Awaitable, Callable, Hashable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from bot.sources import PRICE_SOURCES
from bot.alerts.rules import LEVEL_DIRECTIONS, Direction
from bot.charts import worker
from bot.charts.intervals import BARS, DEFAULT_INTERVAL, interval_showing
from bot.charts.spec import Bar, ChartSpec, Level, Mark, bars_precision, format_price
from bot.exchange.client import ExchangeError
from bot.exchange.rest import Kline, KlineClient
from bot.storage.models import Alert
from bot.storage.store import AlertStore, utcnow

log = logging.getLogger(__name__)

CACHE_SECONDS = 30.0
MAX_BARS_KEPT = 256  # (symbol, interval) klines kept at once: 96 bars, about 45 KB each, 12 MB at most
MAX_PICTURES_KEPT = 64  # pictures kept at once: about 40 KB each, 3 MB at most
V = TypeVar("V")


class Shared(Generic[V]):
    """Values made at most once per key every `ttl` seconds; concurrent callers share the making.

    A failed making is forgotten at once, so the next caller tries again (after whatever wait
    the exchange client imposes).
    """

    def __init__(self, ttl: float, max_entries: int = 512) -> None:
        self._ttl = ttl
        self._max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, asyncio.Task[V]]] = {}  # insertion order is age order
        self.made = 0  # how many times a value was made, not reused

    async def get(self, key: Hashable, make: Callable[[], Awaitable[V]]) -> V:
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is None or now - entry[0] > self._ttl:
            self._forget_old(now)  # at most `ttl` old: a value older than that is never handed out again
            task = asyncio.ensure_future(make())
            task.add_done_callback(lambda done, key=key: self._settled(key, done))
            self._entries.pop(key, None)  # re-inserted last: the order stays by age
            self._entries[key] = entry = (now, task)
            self.made += 1
        return await asyncio.shield(entry[1])  # one caller giving up does not cancel the others

    def _settled(self, key: Hashable, task: asyncio.Task[V]) -> None:
        if task.cancelled() or task.exception() is not None:
            if self._entries.get(key, (0, None))[1] is task:
                del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)

    def _forget_old(self, now: float) -> None:
        """Drops the values older than `ttl` (oldest first), then the oldest until one more fits."""
        for key, (made_at, task) in list(self._entries.items()):
            if now - made_at <= self._ttl:
                break
            if task.done():
                del self._entries[key]
        while len(self._entries) >= self._max_entries:  # all fresh: drop the oldest
            del self._entries[next(iter(self._entries))]


@dataclass(frozen=True)
class Chart:
    png: bytes
    symbol: str
    interval: str
    latest: str  # the last close, at the symbol's precision
    precision: int  # decimals of the symbol's prices
    alerts: tuple[Alert, ...]  # the chat's live alerts drawn on it, for the caption
    focus: Alert | None = None  # the alert a notification's button asked about


class ChartService:
    def __init__(self, klines: KlineClient, store: AlertStore, *, executor: Executor | None = None,
                 cache_seconds: float = CACHE_SECONDS) -> None:
        """Without an `executor`, one worker process draws (started at the first chart)."""
        self._klines = klines
        self._store = store
        self._executor = executor
        self._own_executor = executor is None
        self._bars: Shared[list[Kline]] = Shared(cache_seconds, MAX_BARS_KEPT)
        self._pictures: Shared[bytes] = Shared(cache_seconds, MAX_PICTURES_KEPT)

    @property
    def fetches(self) -> int:
        return self._bars.made

    @property
    def renders(self) -> int:
        return self._pictures.made

    async def chart(self, chat_id: int, symbol: str, interval: str = DEFAULT_INTERVAL) -> Chart:
        """`symbol` at `interval` with the chat's live alerts on it; raises ExchangeError, or
        whatever the drawing raised (a dead drawing process, a matplotlib error)."""
        alerts = await self._live_alerts(chat_id, symbol)
        return await self._draw(symbol, interval, alerts, None, await self._zone(chat_id))

    async def bars(self, symbol: str, interval: str) -> list[Kline]:
        """The klines /chart draws (the same 30-s cache): the Mini App draws them in the browser."""
        bars = await self._bars.get((symbol, interval), lambda: self._klines.klines(symbol, interval, BARS))
        if not bars:
            raise ExchangeError(f"no klines for {symbol} {interval}")
        return bars

    async def alert(self, chat_id: int, alert_id: int) -> Alert | None:
        """The chat's own alert a notification's button names (any state); None for another's.
        Quick (one row), so a button press learns at once whether there is a chart to make."""
        return await self._store.get_alert(chat_id, alert_id)

    async def alert_chart(self, chat_id: int, alert: Alert) -> Chart:
        """The chart a notification's button asks for (`alert` from `alert()`): an interval that
        shows the crossing, the alert's level and the crossing price marked."""
        alerts = [a for a in await self._live_alerts(chat_id, alert.symbol) if a.id != alert.id]
        if alert.direction in LEVEL_DIRECTIONS and alert.price_source in PRICE_SOURCES:  # not a funding rate
            alerts.append(alert)
        interval = DEFAULT_INTERVAL
        if alert.fired_at is not None:
            interval = interval_showing((utcnow() - alert.fired_at).total_seconds())
        return await self._draw(alert.symbol, interval, alerts, alert, await self._zone(chat_id))

    async def _zone(self, chat_id: int) -> str:
        """The chat's /timezone (issue 25): the time axis is drawn on its clock."""
        return (await self._store.chat_hours(chat_id))[0] or "UTC"

    async def _live_alerts(self, chat_id: int, symbol: str) -> list[Alert]:
        # price levels only: a funding alert's level is a rate, a reminder's a number of seconds
        return [a for a in await self._store.list_live_on(chat_id, symbol) if a.direction in LEVEL_DIRECTIONS
                and a.price_source in PRICE_SOURCES]

    async def _draw(self, symbol: str, interval: str, alerts: Sequence[Alert], focus: Alert | None,
                    zone: str = "UTC") -> Chart:
        bars = await self._bars.get((symbol, interval), lambda: self._klines.klines(symbol, interval, BARS))
        if not bars:
            raise ExchangeError(f"no klines for {symbol} {interval}")
        levels = tuple(sorted(
            (Level(a.level, a.direction is Direction.UP, a.id, highlight=focus is not None and a.id == focus.id,
                   source=a.price_source.value)
             for a in alerts),
            key=lambda level: (level.price, level.alert_id or 0)))
        mark = None
        if focus is not None and focus.fired_at is not None:
            fired_ms = int((focus.fired_at - _EPOCH).total_seconds() * 1000)
            # a funding alert's figure is a rate, a reminder's seconds: only the moment is marked
            mark = Mark(fired_ms, focus.fired_price if focus.price_source in PRICE_SOURCES else None)
        spec = ChartSpec(symbol, interval, tuple(Bar(k.open_time, k.open, k.high, k.low, k.close) for k in bars),
                         levels, mark, zone)
        last = bars[-1]  # fresher klines make a new picture, so caption and picture agree
        key = (symbol, interval, levels, mark, zone, last.open_time, last.close, last.high, last.low)
        png = await self._pictures.get(key, lambda: self._render(spec))
        precision = bars_precision(bars)
        latest = format_price(bars[-1].close, precision)
        return Chart(png, symbol, interval, latest, precision, tuple(sorted(alerts, key=lambda a: a.id)), focus)

    async def _render(self, spec: ChartSpec) -> bytes:
        if self._executor is None:
            # spawn, not fork: the bot's process has threads and open sockets a fork would copy.
            self._executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=worker.start)
        executor = self._executor
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, worker.draw, spec)
        except BrokenProcessPool:
            log.error("the chart drawing process died; starting a new one")
            if self._own_executor and self._executor is executor:
                self._executor = None
                executor.shutdown(wait=False)
            raise

    async def close(self) -> None:
        await self._klines.close()
        if self._own_executor and self._executor is not None:
            executor, self._executor = self._executor, None
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)


_EPOCH = datetime(1970, 1, 1)  # naive UTC, like the stored times
