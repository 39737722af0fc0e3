"""The tick: end what expired, ask the exchange once for every price, fire what crossed.

The working process runs it every POLL_INTERVAL (bot.runtime.work). It keeps what a tick needs
between ticks: the recent prices of move alerts, which symbols the kline streams watch, which
symbols stopped trading. Messages are worded by the `Notices` it is handed (bot.notify.notices):
the domain decides what fired, the edge says it.
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from bot.alerts.delisting import GoneSymbols
from bot.alerts.extremes import Extremes, ExtremesTracker
from bot.alerts.moves import MoveTracker
from bot.exchange.client import ExchangeError
from bot.exchange.feed import PriceFeed, PriceSnapshot
from bot.metrics import ALERTS_FIRED, ALERTS_FIRED_BY_WICKS, MOVE_HISTORY, STREAM_LIVE, STREAM_SYMBOLS, TICKS
from bot.exchange.markprice import DEFAULT_FUNDING_HOURS
from bot.sources import FUTURES_SOURCES, PriceSource
from bot.storage.store import AlertStore, EndedAlerts, ExpiredAlert, FiredAlert

if TYPE_CHECKING:
    from bot.exchange.markprice import MarkPrice, MarkPrices
    from bot.exchange.streams import KlineStreams

log = logging.getLogger(__name__)

WINDOWS_REFRESH = 30.0  # seconds between reads of which (symbol, window) pairs move alerts watch
LIVE_SYMBOLS_REFRESH = 60.0  # seconds between reads of which symbols live alerts are about
SOURCES_REFRESH = 60.0  # seconds between reads of which futures sources live alerts watch (unless they changed)
MARK_EVERY = 1.0  # seconds: mark and index alerts are evaluated at most once a second (the stream's pace)


def _prices_of(source: PriceSource, marks: Mapping[str, MarkPrice]) -> dict[str, Decimal]:
    """What alerts on `source` compare with: mark, index, or the funding rate in % (symbols with funding)."""
    if source is PriceSource.MARK:
        return {symbol: mark.mark for symbol, mark in marks.items()}
    if source is PriceSource.INDEX:
        return {symbol: mark.index for symbol, mark in marks.items()}
    if source is PriceSource.FUNDING:
        return {symbol: mark.funding_rate * 100 for symbol, mark in marks.items() if mark.funding_rate is not None}
    now = time.time()  # FUNDING_BEFORE: whole seconds until each symbol's next funding
    return {symbol: Decimal(int(mark.next_funding_ms / 1000 - now)) for symbol, mark in marks.items()
            if mark.next_funding_ms is not None and mark.funding_rate is not None}


class Notices(Protocol):
    """Words for what a tick records, in the chat's language, times on its /timezone clock (bot.notify.notices)."""

    def fired(self, alert: FiredAlert, lang: str, zone: str | None = None) -> str: ...

    def expired(self, alert: ExpiredAlert, lang: str, zone: str | None = None) -> str: ...

    def ended(self, ended: EndedAlerts, lang: str) -> str: ...


class Ticker:
    def __init__(
        self, store: AlertStore, feed: PriceFeed, notices: Notices, *, poll_interval: float, stale_after: float = 60.0,
        streams: KlineStreams | None = None, extremes: ExtremesTracker | None = None,
        allowed_chat_ids: frozenset[int] = frozenset(), symbol_gone_after: float = 900.0,
        marks: MarkPrices | None = None,
    ) -> None:
        self._store = store
        self._feed = feed
        self._notices = notices
        self._stale_after = stale_after
        self._max_age = max(2 * poll_interval, 5.0)  # prices a tick may reuse: the allowlist's, at start
        self._fresh_since = time.time()  # the start counts as fresh; then each snapshot
        self._stale_warned_at = 0.0
        self.ticks = 0  # ticks that asked the exchange, since start
        self._moves = MoveTracker()
        self._windows: list[tuple[str, int]] = []
        self._windows_read_at = 0.0
        self._windows_dirty = True
        # Wicks between checks: the kline streams of the symbols price-level alerts watch feed
        # `extremes` (None: BINANCE_STREAM_URL is empty); which symbols is read like the windows.
        self._streams = streams
        self._extremes = extremes
        self._symbols_read_at = 0.0
        self._symbols_dirty = True
        self._allowed = allowed_chat_ids
        self._allowlist_applied = False
        self._newest_alert_id = -1
        # Symbols that stop trading end their alerts; which symbols alerts are about is read like the windows.
        self._gone = GoneSymbols(symbol_gone_after)
        self._live_symbols: set[str] = set()
        self._live_symbols_read_at = -LIVE_SYMBOLS_REFRESH
        # Mark and index prices (bot.exchange.markprice; None: BINANCE_STREAM_URL is empty).
        self.marks = marks
        self._marks_fired_at = 0.0
        # Which futures sources live alerts watch: a source none watches runs no statement. Read
        # like the watched symbols: after alerts changed (here or through another replica) and
        # every SOURCES_REFRESH seconds (a source whose last alert fired or ended drops out then).
        self._sources: set[PriceSource] = set()
        self._sources_dirty = True
        self._sources_read_at = 0.0

    def alerts_changed(self, *, windows: bool = False) -> None:
        """A command changed alerts: the next tick re-reads which symbols (and, with `windows`,
        which move windows) to watch. Called after the change: a tick reading before it would miss it."""
        self._symbols_dirty = self._sources_dirty = True
        self._windows_dirty = self._windows_dirty or windows

    @property
    def streams(self) -> KlineStreams | None:
        return self._streams

    def prices_age(self) -> float | None:
        """Seconds since the last prices arrived (None before the first): for /healthz."""
        latest = self._feed.latest
        return latest.age() if latest else None

    def fresh_marks(self) -> dict[str, MarkPrice]:
        """Every symbol's mark facts younger than STALE_AFTER (older ones never count)."""
        return self.marks.fresh(self._stale_after) if self.marks is not None else {}

    def source_prices(self) -> dict[PriceSource, dict[str, Decimal]]:
        """What mark, index and funding alerts compare with now, per source (fresh marks only: a
        symbol missing is unknown, as a missing last price is), for resuming paused alerts."""
        marks = self.fresh_marks()
        return {source: _prices_of(source, marks) for source in FUTURES_SOURCES}

    def funding_hours(self, symbol: str) -> int:
        """Hours between two fundings of `symbol` (fundingInfo; 8 when it does not list it)."""
        return self.marks.funding_hours(symbol) if self.marks is not None else DEFAULT_FUNDING_HOURS

    def mark_status(self) -> str:
        """Where mark prices come from: "stream", "fallback" (premiumIndex), "down" or "off"."""
        return self.marks.status if self.marks is not None else "off"

    def stream_status(self) -> str:
        """"off" (BINANCE_STREAM_URL empty), "idle", "live" or "down" (bot.exchange.streams)."""
        return self._streams.status if self._streams is not None else "off"

    async def tick(self) -> int:
        """One poll: end expired alerts, re-arm due ones, then all prices in one request and
        the database fires what they crossed. Returns how many messages wait to be sent."""
        if not self._allowlist_applied:
            await self._apply_allowlist()
        newest = await self._store.newest_alert_id()
        if newest != self._newest_alert_id:  # maybe created through another replica (webhook mode)
            self._newest_alert_id = newest
            self._symbols_dirty = self._windows_dirty = self._sources_dirty = True
        expired = await self._store.expire_due(self._notices.expired)
        woke = await self._store.end_cooldowns()  # repeats and snoozes whose time has come
        self._symbols_dirty = self._symbols_dirty or bool(woke or expired)
        if not await self._store.has_active_alerts():
            self._extremes_since_last_tick()  # nothing they could fire
            if self._windows:
                self.forget_moves()
            await self._follow_streams(None)
            return len(expired)  # nothing to watch: no request, no weight
        self.ticks += 1
        TICKS.inc()
        snapshot = await self._feed.refresh()
        ended = await self._end_gone_symbols(snapshot)
        extremes = self._extremes_since_last_tick()
        try:
            await self._store.start_cooldowns(snapshot.prices)  # repeats whose price went back
            # One evaluation: the last price, or a wick since the last tick seen after the alert was armed.
            fired = await self._store.fire_crossed(snapshot.prices, self._notices.fired, extremes)
        except BaseException:
            if self._extremes is not None:  # nothing was fired: the next tick must still see these wicks
                self._extremes.give_back(extremes)
            raise
        fired += await self._fire_moves(snapshot)  # moves keep using the last prices
        fired += await self._fire_marks(snapshot)
        self._symbols_dirty = self._symbols_dirty or bool(fired)  # a symbol's last alert may have fired
        await self._follow_streams(snapshot)
        ALERTS_FIRED.inc(len(fired))
        ALERTS_FIRED_BY_WICKS.inc(sum(1 for alert in fired if alert.touched is not None))
        for alert in fired:
            log.info("alert #%d fired: %s %s at %s%s", alert.id, alert.symbol, alert.level, alert.price,
                     f" (a wick touched {alert.touched})" if alert.touched is not None else "")
        return len(expired) + len(ended) + len(fired)

    async def _apply_allowlist(self) -> None:
        """Once per start: chats outside ALLOWED_CHAT_IDS have their alerts paused (kept, not
        deleted) and get nothing; chats put back get theirs again, as they were."""
        prices = await self._prices_or_none()
        paused, resumed = await self._store.apply_allowlist(self._allowed, prices, "chat not in ALLOWED_CHAT_IDS",
                                                            self.source_prices())
        self._allowlist_applied = True
        if paused or resumed.alerts:
            log.info("ALLOWED_CHAT_IDS: %d alerts of chats outside it paused, %d of chats back in it resumed",
                     paused, len(resumed.alerts))
            self._symbols_dirty = True

    async def _end_gone_symbols(self, snapshot: PriceSnapshot) -> list[EndedAlerts]:
        """Alerts on a symbol missing from the all-symbol answer for SYMBOL_GONE_AFTER seconds end."""
        now = time.monotonic()
        if now - self._live_symbols_read_at > LIVE_SYMBOLS_REFRESH:  # a gone symbol takes minutes anyway
            self._live_symbols, self._live_symbols_read_at = await self._store.live_symbols(), now
        gone = self._gone.observe(now, snapshot.prices.keys(), self._live_symbols)
        if not gone:
            return []
        ended = await self._store.end_symbols(gone, self._notices.ended)
        self._live_symbols -= set(gone)
        self._symbols_dirty = self._windows_dirty = True
        for notice in ended:
            log.info("%s is no longer traded: alerts %s of chat %d ended", notice.symbol, notice.ids, notice.chat_id)
        return ended

    def _extremes_since_last_tick(self) -> dict[str, Extremes]:
        return self._extremes.take() if self._extremes is not None else {}

    async def _follow_streams(self, snapshot: PriceSnapshot | None) -> None:
        """The stream reads exactly the symbols price-level alerts watch (re-read every 30 s, or
        after alerts changed), and its watchdog gets the last prices."""
        if self._streams is None:
            return
        STREAM_LIVE.set(1 if self._streams.status == "live" else 0)
        STREAM_SYMBOLS.set(self._streams.watched)
        now = time.monotonic()
        if self._symbols_dirty or now - self._symbols_read_at > WINDOWS_REFRESH:
            self._symbols_dirty, self._symbols_read_at = False, now
            self._streams.watch(await self._store.watched_symbols())
        if snapshot is not None:
            self._streams.note_prices(snapshot.prices)

    async def _fire_marks(self, snapshot: PriceSnapshot) -> list[FiredAlert]:
        """Mark, index and funding alerts: the same range scans as last-price alerts, on the fresh
        mark facts (older than STALE_AFTER: never), at most once a second, and only for the
        sources some live alert watches (no statement at all for the others)."""
        now = time.monotonic()
        if self.marks is None or now - self._marks_fired_at < MARK_EVERY:
            return []
        self._marks_fired_at = now
        sources = await self._watched_sources(now)
        if not sources:
            return []
        marks = self.fresh_marks()
        if not marks:
            return []
        fired: list[FiredAlert] = []
        for source in sources:
            prices = _prices_of(source, marks)
            # A funding reminder's notification gives the predicted rate (in %) where others give the last price.
            beside = (_prices_of(PriceSource.FUNDING, marks) if source is PriceSource.FUNDING_BEFORE
                      else snapshot.prices)
            fired += await self._store.step(prices, self._notices.fired, source=source, last_prices=beside)
        return fired

    async def _watched_sources(self, now: float) -> list[PriceSource]:
        """The futures sources live alerts watch, in FUTURES_SOURCES order (cached; see __init__)."""
        if self._sources_dirty or now - self._sources_read_at > SOURCES_REFRESH:
            self._sources_dirty, self._sources_read_at = False, now
            self._sources = await self._store.sources_in_use()
        return [source for source in FUTURES_SOURCES if source in self._sources]

    async def _fire_moves(self, snapshot: PriceSnapshot) -> list[FiredAlert]:
        """Move alerts: the tracker keeps the recent prices of the symbols they watch."""
        now = time.monotonic()
        if self._windows_dirty or now - self._windows_read_at > WINDOWS_REFRESH:
            self._windows = await self._store.watched_windows()
            self._windows_read_at, self._windows_dirty = now, False
            self._moves.watch(self._windows)
        if not self._windows:
            MOVE_HISTORY.set(0)
            return []
        moves = self._moves.observe(now, snapshot.prices, self._windows)
        MOVE_HISTORY.set(self._moves.size())
        return await self._store.fire_moves(
            {key: (move.percent, move.reference) for key, move in moves.items()}, snapshot.prices, self._notices.fired
        )

    def forget_moves(self) -> None:
        """Drops the recent prices kept for move alerts: when no alert is active, and when this
        process stops ticking (a standby). A move alert resumed, or watched again after a
        take-over, measures from then, as one just created does: no move made while it was not
        watched fires it."""
        self._moves.watch(())
        self._windows, self._windows_dirty = [], True
        MOVE_HISTORY.set(0)

    def warn_if_stale(self) -> None:
        """After a failed tick: says so when prices have been missing for `stale_after` seconds."""
        latest = self._feed.latest
        fresh_since = max(self._fresh_since, latest.received_at if latest else 0.0)
        now = time.time()
        if now - fresh_since > self._stale_after and now - self._stale_warned_at > self._stale_after:
            self._stale_warned_at = now
            log.warning("no fresh prices for %.0f s: alerts cannot fire until the exchange answers", now - fresh_since)


    async def _prices_or_none(self) -> dict[str, Decimal] | None:
        try:
            return (await self._feed.current(self._max_age)).prices
        except ExchangeError as exc:
            log.warning("no prices to decide with: %s", exc)
            return None
