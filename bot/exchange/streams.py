"""One reader of Binance's market streams: `<symbol>@kline_1m` for exactly the symbols it is told to watch.

`watch(symbols)` is the whole interface for what to read: it diffs against the current
subscriptions, and each connection sends SUBSCRIBE for what is new and UNSUBSCRIBE for what went
(in batches, slowly enough for Binance's limits). Every kline update goes to a sink (the extremes
tracker); this module knows nothing about alerts.

Binance limits (../shared/binance-streams.md): at most 1,024 streams a connection, so a second
connection opens beyond that; at most 10 incoming messages a second a connection (pongs count),
beyond which the server closes with 1008; a connection lives at most 24 hours; server pings must
be answered (the websockets library does). Retired paths (`/ws`, `/stream`) and unknown names are
acknowledged and then stay silent, so a successful SUBSCRIBE proves nothing: `note_prices` is a
watchdog that notices a subscribed symbol that stays silent while its last price moves, then
subscribes again, then reconnects, and says so in the log.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from bot.exchange.stream_link import StreamLink, StreamOptions, stream_name

__all__ = ["KlineSink", "KlineStreams", "StreamOptions", "stream_name"]

log = logging.getLogger(__name__)

class KlineSink(Protocol):
    """Where kline updates go (bot.alerts.extremes.ExtremesTracker)."""

    def update(self, symbol: str, bar_start: int, high: str, low: str, seen_at: float) -> None: ...
    def baseline(self, symbol: str) -> None: ...
    def forget(self, symbol: str) -> None: ...


@dataclass
class _Watch:
    """Watchdog state of one subscribed stream: the price when we last heard from it."""

    since: float  # when it was (re)subscribed or last checked
    ref_price: Decimal | None = None
    moved_at: float | None = None  # when its last price first differed from ref_price without news


class KlineStreams:
    def __init__(self, url: str, sink: KlineSink, options: StreamOptions | None = None) -> None:
        self.url = url
        self.sink = sink
        self.options = options or StreamOptions()
        self.symbols: dict[str, str] = {}  # stream name -> symbol, for everything watched
        self.ids = itertools.count(1)
        self.refused_logged_at = 0.0
        self._links: list[StreamLink] = []
        self._link_of: dict[str, StreamLink] = {}
        self._heard: dict[str, float] = {}  # stream name -> monotonic time of its latest update
        self._watches: dict[str, _Watch] = {}
        self._down_reason: str | None = None
        self._running = False
        self.background: set[asyncio.Task[None]] = set()

    # -- what the tick uses -----------------------------------------------------------------
    def watch(self, symbols: Iterable[str]) -> None:
        """Exactly these symbols' klines from now on: new ones are subscribed, missing ones unsubscribed."""
        names = {stream_name(symbol): symbol for symbol in symbols}
        for name in self.symbols.keys() - names.keys():
            link = self._link_of.pop(name)
            link.wanted.discard(name)
            link.silent.discard(name)
            link.changed.set()
            self.sink.forget(self.symbols[name])
            self._heard.pop(name, None)
            self._watches.pop(name, None)
        capacity = self.options.streams_per_connection
        for name in names.keys() - self.symbols.keys():
            link = next((link for link in self._links if len(link.wanted) < capacity), None)
            if link is None:
                link = StreamLink(self, len(self._links) + 1)
                self._links.append(link)
            link.wanted.add(name)
            self._link_of[name] = link
            link.changed.set()
        self.symbols = names
        if self._running:
            for link in self._links:
                if link.wanted:
                    link.start()

    def note_prices(self, prices: Mapping[str, Decimal]) -> None:
        """The watchdog, fed the last prices by each tick: a stream that stays silent while its
        symbol's price moves is subscribed again, then its connection is renewed."""
        now = time.monotonic()
        silent: dict[StreamLink, list[str]] = {}
        recovered: set[StreamLink] = set()
        for name, symbol in self.symbols.items():
            price = prices.get(symbol)
            watch = self._watches.get(name)
            if price is None or watch is None:
                continue  # no price (delisted, settled), or not subscribed on a live connection yet
            link = self._link_of[name]
            if link.connection is None or name not in link.subscribed:
                continue
            if self._heard.get(name, 0.0) > watch.since:
                watch.ref_price, watch.moved_at = price, None
                if name in link.silent:
                    recovered.add(link)
            elif watch.ref_price is None:
                watch.ref_price = price
            elif price != watch.ref_price:
                if watch.moved_at is None:
                    watch.moved_at = now
                elif now - watch.moved_at >= self.options.silence_after:
                    silent.setdefault(link, []).append(name)
                    watch.moved_at = now  # the next step comes after another quiet period
            watch.since = now
        for link in recovered:
            link.recovered()
        for link, names in silent.items():
            link.silence(names, self.options.silence_after)
        if recovered and not silent:
            self.check_up()

    @property
    def status(self) -> str:
        """"idle" (nothing watched), "live" (every watched stream connected and not silent) or "down"."""
        wanted = [link for link in self._links if link.wanted]
        if not wanted:
            return "idle"
        if all(link.connection is not None and link.acked and link.stage == 0 for link in wanted):
            return "live"
        return "down"

    @property
    def watched(self) -> int:
        return len(self.symbols)

    def live_symbols(self) -> set[str]:
        """Symbols whose updates arrive: their extremes can be trusted to be complete."""
        return {self.symbols[name] for name, link in self._link_of.items()
                if link.connection is not None and link.acked and name not in link.silent}

    # -- life cycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        self._running = True
        for link in self._links:
            if link.wanted:
                link.start()

    async def close(self) -> None:
        self._running = False
        await asyncio.gather(*(link.stop() for link in self._links))

    # -- called by the connections ------------------------------------------------------------
    def subscribing(self, name: str) -> None:
        symbol = self.symbols.get(name)
        if symbol is not None:
            self.sink.baseline(symbol)  # the next update's high and low may predate the subscription
            self._watches[name] = _Watch(since=time.monotonic())

    def heard(self, name: str, symbol: str, bar_start: int, high: str, low: str) -> None:
        self._heard[name] = time.monotonic()
        self.sink.update(symbol, bar_start, high, low, time.time())

    def set_down(self, reason: str) -> None:
        if self._down_reason is None:
            log.warning("wicks between checks are not watched (%s): alerts fire from last prices only "
                        "until the market stream is back", reason)
        self._down_reason = reason

    def check_up(self) -> None:
        if self._down_reason is not None and self.status == "live":
            log.info("market stream live again: wicks between checks are watched for %d symbol(s)", len(self.symbols))
        self._down_reason = None
