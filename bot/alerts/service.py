"""What the commands and the tick do, in domain terms: storage and exchange below, no Telegram."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from bot.alerts.commands import AlertRequest
from bot.alerts.moves import MoveTracker
from bot.alerts.rules import (
    DEFAULT_MARGIN, LEVEL_DIRECTIONS, Direction, direction_for, level_from_percent, rearm_level,
)
from bot.alerts.symbols import suggest
from bot.exchange.feed import PriceFeed, PriceSnapshot
from bot.i18n import LANGUAGES, pick_language
from bot.storage.models import Alert
from bot.storage.store import AlertStore, ExpiredAlert, FiredAlert, utcnow
from bot.texts import Texts

log = logging.getLogger(__name__)

WINDOWS_REFRESH = 30.0  # seconds between reads of which (symbol, window) pairs move alerts watch


class UnknownSymbol(Exception):
    def __init__(self, symbol: str, suggestions: list[str]) -> None:
        super().__init__(symbol)
        self.symbol, self.suggestions = symbol, suggestions


class TooManyAlerts(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


class PastExpiry(Exception):
    """`until` a moment that has already passed."""


def render_fired(alert: FiredAlert, lang: str) -> str:
    if alert.window_seconds is not None and alert.move is not None and alert.reference is not None:
        return Texts(lang).move_fired(alert.id, alert.symbol, alert.window_seconds, alert.price, alert.reference,
                                      alert.move, alert.note, repeats=alert.repeats)
    return Texts(lang).alert_fired(alert.id, alert.symbol, alert.direction, alert.level, alert.price, alert.note,
                                   repeats=alert.repeats)


def render_expired(alert: ExpiredAlert, lang: str) -> str:
    return Texts(lang).alert_expired(alert.id, alert.symbol, alert.direction, alert.level, alert.note,
                                     fired=alert.fired, window_seconds=alert.window_seconds)


def alert_targets(request: AlertRequest, current: Decimal) -> list[tuple[Direction, Decimal]]:
    """(direction, level) of each alert a request makes: from the level, or a % of the price."""
    if request.percent is None:
        assert request.level is not None  # a price level, or the % of a move alert (Direction.EITHER)
        return [(request.direction or direction_for(request.level, current), request.level)]
    moves = [request.percent, -request.percent] if request.both_ways else [request.percent]
    return [(Direction.UP if move > 0 else Direction.DOWN, level_from_percent(current, move)) for move in moves]


def _expiry(expires: timedelta | datetime | None) -> datetime | None:
    if expires is None:
        return None
    if isinstance(expires, timedelta):
        return utcnow() + expires
    if expires <= utcnow():
        raise PastExpiry(expires)
    return expires


class AlertService:
    def __init__(
        self, store: AlertStore, feed: PriceFeed, *, poll_interval: float,
        max_alerts_per_chat: int = 100, stale_after: float = 60.0,
    ) -> None:
        """`max_alerts_per_chat` counts live alerts (active, paused, repeating), not fired or deleted ones."""
        self._store = store
        self._feed = feed
        self._stale_after = stale_after
        self._fresh_since = time.time()  # the start counts as fresh; then each snapshot
        self._stale_warned_at = 0.0
        self.ticks = 0  # ticks that asked the exchange, since start
        self._languages: dict[int, str] = {}
        self._moves = MoveTracker()
        self._windows: list[tuple[str, int]] = []
        self._windows_read_at = 0.0
        self._windows_dirty = True
        # Commands accept prices as old as two ticks; older ones (no alert active, so no
        # tick ran, or the first tick has not finished) are fetched on demand.
        self._max_age = max(2 * poll_interval, 5.0)
        self._max_alerts = max_alerts_per_chat

    async def snapshot(self) -> PriceSnapshot:
        return await self._feed.current(self._max_age)

    async def create(self, chat_id: int, request: AlertRequest) -> tuple[list[Alert], PriceSnapshot]:
        """One alert, or two for `±2%`, checked against the latest prices."""
        snapshot = await self.snapshot()
        current = snapshot.prices.get(request.symbol)
        if current is None:
            raise UnknownSymbol(request.symbol, suggest(request.symbol, snapshot.prices))
        targets = alert_targets(request, current)
        if await self._store.count_active(chat_id) + len(targets) > self._max_alerts:
            raise TooManyAlerts(self._max_alerts)
        expires_at = _expiry(request.expires)
        repeat_seconds = int(request.repeat.total_seconds()) if request.repeat else None
        window_seconds = int(request.window.total_seconds()) if request.window else None
        created = []
        for direction, level in targets:
            rearm = (rearm_level(direction, level, request.margin or DEFAULT_MARGIN)
                     if request.repeat and direction in LEVEL_DIRECTIONS else None)
            alert = await self._store.create_alert(
                chat_id, request.symbol, direction, level, request.note,
                repeat_seconds=repeat_seconds, rearm_level=rearm, expires_at=expires_at, window_seconds=window_seconds,
            )
            self._windows_dirty = self._windows_dirty or window_seconds is not None
            log.info("chat %d created alert #%d %s %s %s", chat_id, alert.id, alert.symbol, direction.value, level)
            created.append(alert)
        return created, snapshot

    async def list(self, chat_id: int) -> tuple[Sequence[Alert], Sequence[Alert]]:
        """The chat's live alerts, and its once-alerts that fired lately."""
        return await self._store.list_active(chat_id), await self._store.list_recently_fired(chat_id)

    async def snooze(self, chat_id: int, alert_id: int, hours: float = 1) -> Alert | None:
        return await self._store.snooze_alert(chat_id, alert_id, utcnow() + timedelta(hours=hours))

    async def rearm(self, chat_id: int, alert_id: int) -> Alert | None:
        return await self._store.rearm_alert(chat_id, alert_id)

    async def language(self, chat_id: int, user_language: str | None) -> str:
        """The chat's language: chosen with /language, else guessed from the user's Telegram
        language and remembered, so that notifications speak it too."""
        cached = self._languages.get(chat_id)
        if cached is not None:
            return cached
        stored = await self._store.chat_language(chat_id)
        if stored is not None and (stored[1] or user_language is None):
            language = stored[0]
        else:
            language = pick_language(user_language)
            if stored is None or stored[0] != language:
                await self._store.set_chat_language(chat_id, language, chosen=False)
        self._remember_language(chat_id, language)
        return language

    async def choose_language(self, chat_id: int, language: str) -> None:
        if language not in LANGUAGES:
            raise ValueError(language)
        await self._store.set_chat_language(chat_id, language, chosen=True)
        self._remember_language(chat_id, language)

    def _remember_language(self, chat_id: int, language: str) -> None:
        if len(self._languages) >= 50_000:  # a cache, not a copy of the table
            self._languages.clear()
        self._languages[chat_id] = language

    async def welcome(self, chat_id: int) -> int:
        """/start: a chat that had blocked the bot is back; its alerts watch again. Returns how many."""
        resumed = await self._store.unblock_chat(chat_id)
        if resumed:
            log.info("chat %d is back: %d alerts resumed", chat_id, resumed)
        return resumed

    async def resume(self, chat_id: int) -> int:
        """/resume: paused alerts watch again."""
        resumed = await self._store.resume_chat(chat_id)
        if resumed:
            log.info("chat %d resumed %d alerts", chat_id, resumed)
        return resumed

    async def pause(self, chat_id: int) -> int:
        paused = await self._store.pause_chat(chat_id)
        log.info("chat %d paused %d alerts", chat_id, paused)
        return paused

    async def stats(self) -> dict[str, float | int | None]:
        figures: dict[str, float | int | None] = dict(await self._store.stats())
        latest = self._feed.latest
        figures.update(
            ticks=self.ticks,
            last_prices_age=latest.age() if latest else None,
            weight_used=self._feed.weight_used,
            weight_limit=self._feed.weight_limit,
        )
        return figures

    async def delete(self, chat_id: int, alert_id: int) -> Alert | None:
        return await self._store.delete_alert(chat_id, alert_id)

    async def tick(self) -> int:
        """One poll: end expired alerts, re-arm due ones, then all prices in one request and
        the database fires what they crossed. Returns how many messages wait to be sent."""
        expired = await self._store.expire_due(render_expired)
        await self._store.end_cooldowns()  # repeats and snoozes whose time has come
        if not await self._store.has_active_alerts():
            return len(expired)  # nothing to watch: no request, no weight
        self.ticks += 1
        snapshot = await self._feed.refresh()
        await self._store.start_cooldowns(snapshot.prices)  # repeats whose price went back
        fired = await self._store.fire_crossed(snapshot.prices, render_fired)
        fired += await self._fire_moves(snapshot)
        for alert in fired:
            log.info("alert #%d fired: %s %s at %s", alert.id, alert.symbol, alert.level, alert.price)
        return len(expired) + len(fired)

    async def _fire_moves(self, snapshot: PriceSnapshot) -> list[FiredAlert]:
        """Move alerts: the tracker keeps the recent prices of the symbols they watch."""
        now = time.monotonic()
        if self._windows_dirty or now - self._windows_read_at > WINDOWS_REFRESH:
            self._windows = await self._store.watched_windows()
            self._windows_read_at, self._windows_dirty = now, False
            self._moves.watch(self._windows)
        if not self._windows:
            return []
        moves = self._moves.observe(now, snapshot.prices, self._windows)
        return await self._store.fire_moves(
            {key: (move.percent, move.reference) for key, move in moves.items()}, snapshot.prices, render_fired
        )

    def warn_if_stale(self) -> None:
        """After a failed tick: says so when prices have been missing for `stale_after` seconds."""
        latest = self._feed.latest
        fresh_since = max(self._fresh_since, latest.received_at if latest else 0.0)
        now = time.time()
        if now - fresh_since > self._stale_after and now - self._stale_warned_at > self._stale_after:
            self._stale_warned_at = now
            log.warning("no fresh prices for %.0f s: alerts cannot fire until the exchange answers", now - fresh_since)
