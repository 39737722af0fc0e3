"""What the commands and the tick do, in domain terms: storage and exchange below, no Telegram."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from bot import texts
from bot.alerts.commands import AlertRequest
from bot.alerts.rules import direction_for
from bot.alerts.symbols import suggest
from bot.exchange.feed import PriceFeed, PriceSnapshot
from bot.storage.models import Alert
from bot.storage.store import AlertStore, FiredAlert

log = logging.getLogger(__name__)

class UnknownSymbol(Exception):
    def __init__(self, symbol: str, suggestions: list[str]) -> None:
        super().__init__(symbol)
        self.symbol, self.suggestions = symbol, suggestions


class TooManyAlerts(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


def render_fired(alert: FiredAlert) -> str:
    return texts.alert_fired(alert.id, alert.symbol, alert.direction, alert.level, alert.price, alert.note)


class AlertService:
    def __init__(
        self, store: AlertStore, feed: PriceFeed, *, poll_interval: float,
        max_alerts_per_chat: int = 100, stale_after: float = 60.0,
    ) -> None:
        """`max_alerts_per_chat` counts active and paused alerts, not fired or deleted ones."""
        self._store = store
        self._feed = feed
        self._stale_after = stale_after
        self._fresh_since = time.time()  # the start counts as fresh; then each snapshot
        self._stale_warned_at = 0.0
        self.ticks = 0  # ticks that asked the exchange, since start
        # Commands accept prices as old as two ticks; older ones (no alert active, so no
        # tick ran, or the first tick has not finished) are fetched on demand.
        self._max_age = max(2 * poll_interval, 5.0)
        self._max_alerts = max_alerts_per_chat

    async def snapshot(self) -> PriceSnapshot:
        return await self._feed.current(self._max_age)

    async def create(self, chat_id: int, request: AlertRequest) -> tuple[Alert, PriceSnapshot]:
        snapshot = await self.snapshot()
        current = snapshot.prices.get(request.symbol)
        if current is None:
            raise UnknownSymbol(request.symbol, suggest(request.symbol, snapshot.prices))
        if await self._store.count_active(chat_id) >= self._max_alerts:
            raise TooManyAlerts(self._max_alerts)
        direction = request.direction or direction_for(request.level, current)
        alert = await self._store.create_alert(chat_id, request.symbol, direction, request.level, request.note)
        log.info("chat %d created alert #%d %s %s %s", chat_id, alert.id, alert.symbol, direction.value, alert.level)
        return alert, snapshot

    async def list(self, chat_id: int) -> Sequence[Alert]:
        return await self._store.list_active(chat_id)

    async def resume(self, chat_id: int) -> int:
        """/resume, or a chat that had blocked the bot is back: paused alerts watch again."""
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

    async def tick(self) -> list[FiredAlert]:
        """One poll: all prices in one request, then the database fires what they crossed."""
        if not await self._store.has_active_alerts():
            return []  # nothing to watch: no request, no weight
        self.ticks += 1
        snapshot = await self._feed.refresh()
        fired = await self._store.fire_crossed(snapshot.prices, render_fired)
        for alert in fired:
            log.info("alert #%d fired: %s %s at %s", alert.id, alert.symbol, alert.level, alert.price)
        return fired

    def warn_if_stale(self) -> None:
        """After a failed tick: says so when prices have been missing for `stale_after` seconds."""
        latest = self._feed.latest
        fresh_since = max(self._fresh_since, latest.received_at if latest else 0.0)
        now = time.time()
        if now - fresh_since > self._stale_after and now - self._stale_warned_at > self._stale_after:
            self._stale_warned_at = now
            log.warning("no fresh prices for %.0f s: alerts cannot fire until the exchange answers", now - fresh_since)
