"""What the bot says about alerts: greeting and help, creating, listing, firing and ending them, and the guided /alert."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from html import escape

from bot.alerts.editing import Sources, source_of, watched_price
from bot.alerts.rules import Direction, distance_percent
from bot.sources import PRICE_SOURCES, PriceSource
from bot.texts.base import AlertLike, ENDED_MARK, _STATES, _state_of, _arming, price, duration, moment, TextsBase


class AlertTexts(TextsBase):
    # -- greeting and help ----------------------------------------------------------------------
    def start(self) -> str:
        return self._(
            "👋 <b>pricealert</b> watches Binance USDⓈ-M futures prices and tells you "
            "the moment a price reaches a level you set.\n\n"
            "Try <code>/alert BTCUSDT 70000</code>, then /alerts to see it.\n"
            "/help lists every command. /language changes the language."
        )

    def alerts_resumed(self, count: int) -> str:
        return "\n\n" + self._n(
            "👋 Welcome back: {count} paused alert is watching again. /alerts lists it.",
            "👋 Welcome back: {count} paused alerts are watching again. /alerts lists them.",
            count,
        ).format(count=count)

    def help(self) -> str:
        return self._(
            "<b>Commands</b>\n"
            "/alert <code>SYMBOL PRICE [note]</code> — alert when the price reaches PRICE; "
            "it waits for a rise if the price is below, a fall if above.\n"
            "  e.g. <code>/alert BTCUSDT 70000 take profit</code>\n"
            "/alert <code>SYMBOL above|below PRICE [note]</code> — choose the direction "
            "(also <code>&gt;</code> <code>&lt;</code> <code>&gt;=</code> <code>&lt;=</code>).\n"
            "  e.g. <code>/alert ethusdt below 2500</code>\n"
            "/alert <code>SYMBOL +5%|-3%|±2%</code> — a move from the current price, e.g. <code>/alert BTCUSDT +5%</code>\n"
            "/alert <code>SYMBOL 3% 15m</code> — a move of 3% either way within any 15 minutes (1m to 24h)\n"
            "Options after the price: <code>every 1h</code> fires again after the price went back "
            "(<code>margin 1%</code>, default 0.5%) and the cooldown ended; "
            "<code>for 1d</code> or <code>until 2026-12-31</code> ends it.\n"
            "  e.g. <code>/alert BTCUSDT 70000 every 1h for 1w breakout</code>\n"
            "/alerts — your alerts, with buttons to delete or re-arm them.\n"
            "/export — your alerts as a CSV file; /import with that file (as its caption, or in reply to it) "
            "creates them again.\n"
            "/delete <code>ID</code> — delete an alert, e.g. <code>/delete 12</code>\n"
            "/edit <code>ID PRICE [note]</code> — move an alert to a new level, keeping its id, "
            "e.g. <code>/edit 12 71000</code>\n"
            "/price <code>SYMBOL [SYMBOL...]</code> — latest prices, e.g. <code>/price BTCUSDT ETHUSDT</code>\n"
            "/chart <code>SYMBOL [1m|5m|15m|1h|4h|1d]</code> — a candlestick chart with your levels, "
            "e.g. <code>/chart BTCUSDT 4h</code>\n"
            "/pause — silence your alerts without deleting them; /resume turns them back on.\n"
            "/language — English or 简体中文.\n\n"
            "An alert fires once, then stops, unless it repeats. Symbols are Binance futures symbols such as "
            "BTCUSDT, 1000PEPEUSDT or BTCUSDT_261225."
        ) + self.help_futures() + self.help_places()

    def help_futures(self) -> str:
        """The part of /help about mark, index and funding alerts and /liq (docs/futures.md)."""
        return "\n\n" + self._(
            "<code>mark</code> or <code>index</code> before the price watches the mark (index) price, "
            "e.g. <code>/alert BTCUSDT mark 70000</code>\n"
            "/alert <code>SYMBOL funding above 0.05%</code> — the funding rate; "
            "<code>/alert BTCUSDT funding 15m before</code> reminds you before each funding.\n"
            "/liq <code>SYMBOL long|short PRICE</code> — warnings as the mark price nears your liquidation price, "
            "e.g. <code>/liq BTCUSDT long 61234</code>"
        )

    # -- alerts ---------------------------------------------------------------------------------
    def alerts_created(self, alerts: Sequence[AlertLike], current: Decimal) -> str:
        lines = [
            self._("✅ Alert <b>#{id}</b>: {symbol} {target}").format(
                id=a.id, symbol=escape(a.symbol), target=self._target(a.direction, a.level, a.window_seconds, bold=True))
            + self._distance(a, current) + self._options(a)
            + ("\n" + self.already_passed(a.symbol, a.direction, a.level, current) if _arming(a) else "")
            for a in alerts
        ]
        lines.append(self._("Now {price}.").format(price=price(current)) + self._note(alerts[0].note))
        return "\n".join(lines)

    def alert_fired(self, alert_id: int, symbol: str, direction: Direction, level: Decimal, crossed_at: Decimal,
                    note: str, *, repeats: bool = False) -> str:
        template = (self._("🔔 <b>{symbol}</b> rose to <b>{price}</b> (your level {level}, alert #{id})")
                    if direction is Direction.UP else
                    self._("🔔 <b>{symbol}</b> fell to <b>{price}</b> (your level {level}, alert #{id})"))
        text = template.format(symbol=escape(symbol), price=price(crossed_at), level=price(level), id=alert_id)
        again = "\n" + self._("🔁 It fires again after the price goes back and the cooldown ends.") if repeats else ""
        return text + self._note(note) + again

    def alert_touched(self, alert_id: int, symbol: str, level: Decimal, touched: Decimal, now: Decimal,
                      note: str, *, repeats: bool = False) -> str:
        """A wick between two checks reached the level; the last price never did."""
        text = self._("🔔 <b>{symbol}</b> touched <b>{touched}</b> between checks; now {price} "
                      "(your level {level}, alert #{id})").format(
            symbol=escape(symbol), touched=price(touched), price=price(now), level=price(level), id=alert_id)
        again = "\n" + self._("🔁 It fires again after the price goes back and the cooldown ends.") if repeats else ""
        return text + self._note(note) + again

    def move_fired(self, alert_id: int, symbol: str, window_seconds: int, now: Decimal, reference: Decimal,
                   move: Decimal, note: str, *, repeats: bool = False) -> str:
        rising = now >= reference
        template = (self._("🔔 <b>{symbol}</b> rose <b>{percent}%</b> within {window}: {reference} → <b>{price}</b> (alert #{id})")
                    if rising else
                    self._("🔔 <b>{symbol}</b> fell <b>{percent}%</b> within {window}: {reference} → <b>{price}</b> (alert #{id})"))
        text = template.format(symbol=escape(symbol), percent=move.quantize(Decimal("0.01")), window=duration(window_seconds),
                               reference=price(reference), price=price(now), id=alert_id)
        again = "\n" + self._("🔁 It can fire again once the cooldown ends.") if repeats else ""
        return text + self._note(note) + again

    def alert_expired(self, alert_id: int, symbol: str, direction: Direction, level: Decimal, note: str,
                      *, fired: bool, window_seconds: int | None = None) -> str:
        template = (self._("⌛ Alert #{id} ({symbol} {target}) expired.") if fired else
                    self._("⌛ Alert #{id} ({symbol} {target}) expired without firing."))
        return template.format(id=alert_id, symbol=escape(symbol),
                               target=self._target(direction, level, window_seconds)) + self._note(note)

    def alert_list(self, live: Sequence[AlertLike], fired: Sequence[AlertLike], prices: Mapping[str, Decimal],
                   page: int, pages: int, live_count: int | None = None, sources: Sources | None = None) -> str:
        """One page; `live_count` is the chat's live alerts on every page (default: this page's);
        `sources` the fresh mark, index and funding figures (a mark alert's distance is from the mark price)."""
        if not live and not fired:
            return self._("You have no active alerts. Create one with <code>/alert BTCUSDT 70000</code>.")
        title = self._("<b>Your alerts</b> ({count})").format(count=len(live) if live_count is None else live_count)
        if pages > 1:
            title += " · " + self._("page {page}/{pages}").format(page=page + 1, pages=pages)
        lines = [title]
        for alert in live:
            distance = self._watched(alert, watched_price(alert, prices, sources))
            liquidation = getattr(alert, "liquidation", None)  # a /liq step: the price it warns before
            if liquidation is not None:
                distance = " · ⚠️ " + self._("liquidation price {price}").format(price=price(liquidation)) + distance
            state = _STATES.get(getattr(alert.state, "value", alert.state))
            mark = self._(state).format(until=moment(alert.rearm_after, self.zone) if alert.rearm_after else "",
                                        back=price(alert.rearm_level) if alert.rearm_level else "") if state else ""
            lines.append(self._line(alert) + distance + self._options(alert) + mark
                         + (f" — {escape(alert.note)}" if alert.note else ""))
        if fired:
            lines.append("\n" + self._("<b>Fired lately</b> (🔁 re-arms one)"))
            lines.extend(self._line(a) + (self._(ENDED_MARK) if _state_of(a) == "ended" else "")
                         + (f" — {escape(a.note)}" if a.note else "") for a in fired)
        return "\n".join(lines)

    def _watched(self, alert: AlertLike, now: Decimal | None) -> str:
        """` · +0.71% from 69500`, on a mark alert ` · +0.71% from mark price 69500` (or ` · mark price
        unknown`), on a funding alert ` · now 0.01%`: the price the alert watches, where it is now."""
        source = source_of(alert)
        if source is PriceSource.FUNDING:
            return "" if now is None else " · " + self._("now {rate}%").format(rate=f"{now.normalize():f}" if now else "0")
        if source not in PRICE_SOURCES or alert.direction is Direction.EITHER:
            return ""
        if now is None or now <= 0:
            return " · " + self._("{source} unknown").format(source=self._source(alert).strip()) \
                if source is not PriceSource.LAST else ""
        percent = f"{distance_percent(alert.level, now):+}"
        if source is PriceSource.LAST:
            return " · " + self._("{percent}% from {price}").format(percent=percent, price=price(now))
        return " · " + self._("{percent}% from {source} {price}").format(
            percent=percent, source=self._source(alert).strip(), price=price(now))

    def symbol_ended(self, symbol: str, ids: Sequence[int]) -> str:
        numbers = ", ".join(f"#{i}" for i in ids)
        return self._n("🏁 {symbol} is no longer traded on Binance futures: alert {ids} ended.",
                       "🏁 {symbol} is no longer traded on Binance futures: alerts {ids} ended.",
                       len(ids)).format(symbol=escape(symbol), ids=numbers)

    def already_passed(self, symbol: str, direction: Direction, level: Decimal, current: Decimal) -> str:
        """An alert fires on a crossing: one made (or resumed) past its level waits for the next."""
        template = (self._("⏳ {symbol} is already above {level} (now {price}): the alert fires the next time "
                           "it crosses up through {level}.") if direction is Direction.UP else
                    self._("⏳ {symbol} is already below {level} (now {price}): the alert fires the next time "
                           "it crosses down through {level}."))
        return template.format(symbol=escape(symbol), level=price(level), price=price(current))

    def resumed_waiting(self, alerts: Sequence[AlertLike], now: Mapping[int, Decimal]) -> str:
        """After /resume or /start: the alerts whose level was passed during the pause, each with
        the price it watches (`now` by alert id: the mark price for a mark alert)."""
        if not alerts:
            return ""
        lines = [self._("⏳ Passed during the pause, so they wait for a new crossing:")]
        lines += [self._line(a) + (" · " + self._("now {price}").format(price=price(now[a.id]))
                                   if a.id in now else "") for a in alerts]
        return "\n\n" + "\n".join(lines)

    def rearmed_later(self, alert_id: int, direction: Direction, back: Decimal) -> str:
        """Re-arm pressed while the price is still past the level (a button's short answer)."""
        template = (self._("⏳ #{id} fires again after the price goes back below {back} and crosses up.")
                    if direction is Direction.UP else
                    self._("⏳ #{id} fires again after the price goes back above {back} and crosses down."))
        return template.format(id=alert_id, back=price(back))

    def alert_deleted(self, alert_id: int, symbol: str) -> str:
        return self._("🗑 Alert #{id} ({symbol}) deleted.").format(id=alert_id, symbol=escape(symbol))

    def alert_not_found(self, alert_id: int) -> str:
        return self._("You have no active alert #{id}. /alerts lists yours.").format(id=alert_id)

    def too_many_alerts(self, limit: int) -> str:
        return self._("You have {limit} active alerts, the most a chat may have. Delete one with /delete first.").format(
            limit=limit)

    def past_expiry(self) -> str:
        return self._("That time has already passed. Use a future date, e.g. <code>until 2026-12-31</code>, "
                      "or <code>for 1d</code>.")

    # -- the guided /alert ---------------------------------------------------------------------
    def guide_symbol(self) -> str:
        return self._("Which symbol? Press one or type it, e.g. <code>BTCUSDT</code>. /cancel stops.")

    def guide_symbol_again(self) -> str:
        return self._("Type the symbol again, or /cancel.")

    def guide_level(self, symbol: str, current: str) -> str:
        return self._("{symbol} is at <b>{price}</b>. At what price? Press a move or type a level, "
                      "e.g. <code>70000</code>, <code>+3%</code> or <code>below 2500 note</code>.").format(
            symbol=escape(symbol), price=current)

    def guide_level_again(self) -> str:
        return self._("Try again, e.g. <code>70000</code> or <code>+3%</code>, or /cancel.")

    def guide_confirm(self, symbol: str, targets: Sequence[tuple[Direction, Decimal]], current: Decimal,
                      note: str, window_seconds: int | None = None) -> str:
        lines = [f"{escape(symbol)} {self._target(direction, level, window_seconds, bold=True)}"
                 + ("" if direction is Direction.EITHER else f" ({distance_percent(level, current):+}%)")
                 for direction, level in targets]
        return self._("Create this alert?") + "\n" + "\n".join(lines) + self._note(note)

    def guide_create_button(self) -> str:
        return self._("✅ Create")

    def guide_cancel_button(self) -> str:
        return self._("✖ Cancel")

    def guide_cancelled(self) -> str:
        return self._("Cancelled: no alert was created.")

    def guide_or_pick(self) -> str:
        return self._("…or press one:")

    def guide_gone(self) -> str:
        return self._("This question has expired or is someone else's. /alert starts again.")

    def far_level(self) -> str:
        return self._("⚠️ That level is more than 10× away from the current price. Is it what you meant?")
