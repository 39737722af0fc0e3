"""What the commands do, in domain terms: storage and exchange below, no Telegram, no words.

The tick lives in bot.alerts.tick; a command that changes alerts tells it (`alerts_changed`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

from bot.alerts.liquidation import LiqRequest, direction as liq_direction, step_level
from bot.sources import PriceSource
from bot.alerts.commands import AlertRequest
from bot.alerts.requests import (
    LIQ_REPEAT_SECONDS, Edited, FarLevel, NoFunding, NoMarkPrice, NotALevelAlert, PastExpiry, TooManyAlerts,
    UnknownSymbol, alert_specs, alert_targets, expiry,
)
from bot.alerts.editing import EditRequest, plan_move, target_level
from bot.alerts.tick import Ticker
from bot.alerts.places import ChatPlaces
from bot.alerts.rules import DEFAULT_MARGIN, LEVEL_DIRECTIONS, crossed, needs_confirmation, rearm_level, rearm_threshold
from bot.symbols import suggest
from bot.exchange.feed import PriceFeed, PriceSnapshot
from bot.i18n import LANGUAGES, pick_language
from bot.storage.models import Alert
from bot.exchange.client import ExchangeError
from bot.storage.chats import Resumed
from bot.storage.store import LIVE, AlertPage, AlertStore, utcnow

log = logging.getLogger(__name__)

MAX_CACHED_LANGUAGES = 50_000  # chats whose language is cached, about 100 bytes each: 5 MB at most
# A replica learns another replica's /language within this many seconds.
LANGUAGE_CACHE_SECONDS = 60.0


class AlertService(ChatPlaces):
    def __init__(
        self, store: AlertStore, feed: PriceFeed, ticker: Ticker, *, poll_interval: float,
        max_alerts_per_chat: int = 100,
    ) -> None:
        """`max_alerts_per_chat` counts live alerts (active, paused, repeating), not fired or deleted ones."""
        self._store = store
        self._feed = feed
        self._ticker = ticker
        self._languages: dict[int, tuple[str, float]] = {}  # chat -> (language, monotonic time read)
        # Commands accept prices as old as two ticks; older ones (no alert active, so no
        # tick ran, or the first tick has not finished) are fetched on demand.
        self._max_age = max(2 * poll_interval, 5.0)
        self._max_alerts = max_alerts_per_chat

    async def snapshot(self) -> PriceSnapshot:
        return await self._feed.current(self._max_age)

    async def prices_or_none(self) -> dict[str, Decimal] | None:
        """The latest prices, or None when the exchange cannot be asked now."""
        try:
            return (await self.snapshot()).prices
        except ExchangeError as exc:
            log.warning("no prices to decide with: %s", exc)
            return None

    async def create(self, chat_id: int, request: AlertRequest,
                     thread_id: int | None = None) -> tuple[list[Alert], PriceSnapshot]:
        """One alert, or two for `±2%`, checked against the latest prices; made in forum topic
        `thread_id` (None: General, or a chat without topics), it is announced there."""
        snapshot = await self.snapshot()
        current = snapshot.prices.get(request.symbol)
        if current is None:
            raise UnknownSymbol(request.symbol, suggest(request.symbol, snapshot.prices))
        current = self.current_on(request.source, request.symbol, current)
        targets = alert_targets(request, current)
        if await self._store.count_active(chat_id) + len(targets) > self._max_alerts:
            raise TooManyAlerts(self._max_alerts)
        specs = alert_specs(request, current, targets, thread_id)
        created = await self._store.create_alerts(chat_id, specs)  # `±2%`: both or neither
        self._ticker.alerts_changed(windows=any(spec["window_seconds"] is not None for spec in specs))
        for alert in created:
            log.info("chat %d created alert #%d %s %s %s", chat_id, alert.id, alert.symbol, alert.direction.value,
                     alert.level)
        return created, snapshot

    async def import_alerts(
        self, chat_id: int, requests: Sequence[tuple[int, AlertRequest]], thread_id: int | None = None,
    ) -> tuple[list[tuple[int, list[Alert]]], list[tuple[int, Exception]], PriceSnapshot]:
        """/import: each (line, request) checked exactly as `create` checks one (symbol, expiry,
        the chat's limit counting the lines before it), then every accepted alert created in one
        transaction. Returns (line, alerts) created, (line, UnknownSymbol | PastExpiry | TooManyAlerts)
        refused, and the prices they were checked against."""
        snapshot = await self.snapshot()
        room = self._max_alerts - await self._store.count_active(chat_id)
        accepted: list[tuple[int, list[dict[str, object]]]] = []
        refused: list[tuple[int, Exception]] = []
        for line, request in requests:
            current = snapshot.prices.get(request.symbol)
            try:
                if current is None:
                    raise UnknownSymbol(request.symbol, suggest(request.symbol, snapshot.prices))
                current = self.current_on(request.source, request.symbol, current)
                targets = alert_targets(request, current)
                far = [level for direction, level in targets  # a funding rate may be 0 or negative: no such check
                       if direction in LEVEL_DIRECTIONS and request.source is PriceSource.LAST
                       and needs_confirmation(level, current)]
                if far:  # a file cannot answer "are you sure?": such a line is refused with the reason
                    raise FarLevel(far[0], current)
                if len(targets) > room:
                    raise TooManyAlerts(self._max_alerts)
                specs = alert_specs(request, current, targets, thread_id)
            except (UnknownSymbol, TooManyAlerts, PastExpiry, FarLevel, NoMarkPrice, NoFunding) as exc:
                refused.append((line, exc))
                continue
            room -= len(specs)
            accepted.append((line, specs))
        alerts = await self._store.create_alerts(chat_id, [spec for _, specs in accepted for spec in specs])
        if alerts:
            self._ticker.alerts_changed(windows=True)
            log.info("chat %d imported %d alerts", chat_id, len(alerts))
        created, position = [], 0
        for line, specs in accepted:
            created.append((line, alerts[position:position + len(specs)]))
            position += len(specs)
        return created, refused, snapshot

    async def watch_liquidation(self, chat_id: int, request: LiqRequest) -> tuple[list[Alert], Decimal]:
        """/liq: one repeating mark-price alert per step (bot.alerts.liquidation), all or none;
        returns them and the mark price now."""
        snapshot = await self.snapshot()
        if request.symbol not in snapshot.prices:
            raise UnknownSymbol(request.symbol, suggest(request.symbol, snapshot.prices))
        mark = self.current_on(PriceSource.MARK, request.symbol, snapshot.prices[request.symbol])
        if await self._store.count_active(chat_id) + len(request.steps) > self._max_alerts:
            raise TooManyAlerts(self._max_alerts)
        waits = liq_direction(request.long)
        expires_at = expiry(request.expires)  # one end for every step: the watch ends as one
        specs = []
        for step in request.steps:
            level = step_level(request.long, request.liquidation, step)
            specs.append({
                "symbol": request.symbol, "direction": waits, "level": level, "note": "",
                # warns once; again only after the mark moved away by the margin (and a minute passed)
                "repeat_seconds": LIQ_REPEAT_SECONDS, "rearm_level": rearm_level(waits, level, DEFAULT_MARGIN),
                "passed": crossed(waits, level, mark), "price_source": PriceSource.MARK,
                "liquidation": request.liquidation, "expires_at": expires_at,
            })
        created = await self._store.create_alerts(chat_id, specs)
        self._ticker.alerts_changed()
        log.info("chat %d watches liquidation of %s at %s: alerts %s", chat_id, request.symbol, request.liquidation,
                 [a.id for a in created])
        return created, mark

    def source_prices(self) -> dict[PriceSource, dict[str, Decimal]]:
        """The fresh mark, index and funding figures per source, per symbol (none on a standby
        replica): what lists measure a mark or index alert's distance from."""
        return self._ticker.source_prices()

    def current_on(self, source: PriceSource, symbol: str, last: Decimal) -> Decimal:
        """The price an alert on `source` compares with now: the last price, or the fresh mark or
        index price (NoMarkPrice when there is none younger than STALE_AFTER)."""
        if source is PriceSource.LAST:
            return last
        mark = self._ticker.fresh_marks().get(symbol)
        if mark is None:
            raise NoMarkPrice(symbol)
        if source in (PriceSource.FUNDING, PriceSource.FUNDING_BEFORE):
            if mark.funding_rate is None or mark.next_funding_ms is None:
                raise NoFunding(symbol)
            if source is PriceSource.FUNDING_BEFORE:  # seconds until the next funding
                return Decimal(int(mark.next_funding_ms / 1000 - time.time()))
            return mark.funding_rate * 100  # alerts keep the rate in %
        return mark.mark if source is PriceSource.MARK else mark.index

    async def list_page(self, chat_id: int, after: int, limit: int) -> AlertPage:
        """/alerts: one page of the chat's alerts, after the list key `after` (0: the first page)."""
        return await self._store.list_page(chat_id, after, limit)

    async def live_alerts(self, chat_id: int) -> Sequence[Alert]:
        """/export: every live alert of the chat, even past the limit (it may have been lowered)."""
        return await self._store.list_active(chat_id, limit=max(self._max_alerts, 10_000))

    @property
    def max_alerts_per_chat(self) -> int:
        return self._max_alerts

    async def snooze(self, chat_id: int, alert_id: int, hours: float = 1) -> Alert | None:
        changed = await self._store.snooze_alert(chat_id, alert_id, utcnow() + timedelta(hours=hours))
        self._ticker.alerts_changed()
        return changed

    async def rearm(self, chat_id: int, alert_id: int) -> Alert | None:
        """A fired once-alert watches again. If the price is still past its level it waits to
        come back by the margin (the hysteresis repeats use) and fires on the next crossing
        (state ARMING); without a price it waits to be on the waiting side at all."""
        alert = await self._store.get_alert(chat_id, alert_id)
        if alert is None:
            return None
        current = (await self.prices_or_none() or {}).get(alert.symbol)
        if current is not None and alert.price_source is not PriceSource.LAST:
            try:
                current = self.current_on(alert.price_source, alert.symbol, current)
            except (NoMarkPrice, NoFunding):
                current = None  # waits to be on the waiting side at all
        arm_at = rearm_threshold(alert.direction, alert.level, current)
        changed = await self._store.rearm_alert(chat_id, alert_id, arm_at)
        self._ticker.alerts_changed()
        return changed

    async def language(self, chat_id: int, user_language: str | None) -> str:
        """The chat's language: chosen with /language, else guessed from the user's Telegram
        language and remembered, so that notifications speak it too."""
        cached = self._languages.get(chat_id)
        if cached is not None and time.monotonic() - cached[1] < LANGUAGE_CACHE_SECONDS:
            return cached[0]
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
        if len(self._languages) >= MAX_CACHED_LANGUAGES:  # a cache, not a copy of the table
            self._languages.clear()
        self._languages[chat_id] = (language, time.monotonic())

    async def migrate_chat(self, old_id: int, new_id: int) -> int:
        """A group became a supergroup (a new id): its alerts, settings and pending messages move there."""
        moved = await self._store.migrate_chat(old_id, new_id)
        self._languages.pop(old_id, None)
        self._languages.pop(new_id, None)  # a first command in the supergroup may have guessed one
        if moved:
            log.info("chat %d became supergroup %d: %d alerts moved", old_id, new_id, moved)
        return moved

    async def welcome(self, chat_id: int) -> Resumed:
        """/start: a chat that had blocked the bot is back; what the block paused watches again,
        as it was (a level passed meanwhile waits for a new crossing)."""
        resumed = await self._store.unblock_chat(chat_id, await self.prices_or_none(), self._ticker.source_prices())
        if resumed.alerts:
            self._ticker.alerts_changed()
        if resumed.alerts:
            log.info("chat %d is back: %d alerts resumed", chat_id, len(resumed.alerts))
        return resumed

    async def resume(self, chat_id: int) -> Resumed:
        """/resume: what /pause paused watches again, as it was (a level passed meanwhile waits
        for a new crossing)."""
        resumed = await self._store.resume_chat(chat_id, await self.prices_or_none(), self._ticker.source_prices())
        if resumed.alerts:
            self._ticker.alerts_changed()
        if resumed.alerts:
            log.info("chat %d resumed %d alerts", chat_id, len(resumed.alerts))
        return resumed

    async def pause(self, chat_id: int) -> int:
        paused = await self._store.pause_chat(chat_id)
        if paused:
            self._ticker.alerts_changed()
        log.info("chat %d paused %d alerts", chat_id, paused)
        return paused

    async def stats(self) -> dict[str, float | int | None]:
        figures: dict[str, float | int | None] = dict(await self._store.stats())
        latest = self._feed.latest
        figures.update(
            ticks=self._ticker.ticks,
            last_prices_age=latest.age() if latest else None,
            weight_used=self._feed.weight_used,
            weight_limit=self._feed.weight_limit,
        )
        streams = self._ticker.streams
        figures["stream"] = self._ticker.stream_status()  # type: ignore[assignment]
        figures["stream_symbols"] = streams.watched if streams is not None else 0
        figures["mark_prices"] = self._ticker.mark_status()  # type: ignore[assignment]
        return figures

    async def alert(self, chat_id: int, alert_id: int) -> Alert | None:
        """One of the chat's live alerts; None for another chat's id or a closed one."""
        alert = await self._store.get_alert(chat_id, alert_id)
        return alert if alert is not None and alert.state in LIVE else None

    async def edit(self, chat_id: int, request: EditRequest, *, confirmed: bool = False) -> Edited | None:
        """Moves one of the chat's live alerts to a new level (and note), keeping its id, repeat
        and expiry, decided from the current price as a new alert is (alerts.editing). None when
        the chat has no such live alert. Raises FarLevel (unless `confirmed`), UnknownSymbol (no
        longer listed), NotALevelAlert, NoMarkPrice/NoFunding (its source has no fresh figure),
        ExchangeError."""
        for _ in range(3):  # the alert may fire or cool down between the read and the write
            alert = await self._store.get_alert(chat_id, request.alert_id)
            if alert is None or alert.state not in LIVE:
                return None
            if alert.direction not in LEVEL_DIRECTIONS or alert.price_source is PriceSource.FUNDING_BEFORE:
                raise NotALevelAlert(alert.id, reminder=alert.price_source is PriceSource.FUNDING_BEFORE)
            snapshot = await self.snapshot()
            current = snapshot.prices.get(alert.symbol)
            if current is None:
                raise UnknownSymbol(alert.symbol, suggest(alert.symbol, snapshot.prices))
            # A mark or index alert keeps its source: direction, arming and a `+5%` come from that price.
            current = self.current_on(alert.price_source, alert.symbol, current)
            level = target_level(request, current)
            if not confirmed and needs_confirmation(level, current):
                raise FarLevel(level, current)
            move = plan_move(alert, level, request.direction, current)
            changed = await self._store.move_alert(
                chat_id, alert.id, alert.state, direction=move.direction, level=move.level,
                rearm_level=move.rearm_level, passed=move.passed, note=request.note)
            if changed is not None:
                self._ticker.alerts_changed()  # after the change: a tick reading before it would miss it
                log.info("chat %d moved alert #%d %s to %s %s", chat_id, alert.id, alert.symbol,
                         move.direction.value, move.level)
                return Edited(changed, current, move.passed)
        return None

    async def set_note(self, chat_id: int, alert_id: int, note: str) -> Alert | None:
        """Only the note changes (the Mini App's note field): level, arming and times stay."""
        return await self._store.set_note(chat_id, alert_id, note)

    async def delete(self, chat_id: int, alert_id: int) -> Alert | None:
        changed = await self._store.delete_alert(chat_id, alert_id)
        self._ticker.alerts_changed(windows=True)
        return changed
