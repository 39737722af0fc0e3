"""Every text the bot sends, in Telegram's HTML, in the chat's language.

English is written here; translations live in the gettext catalog bot/locales/<lang>. Every
value a user typed goes through `escape`; translated templates are filled with `.format`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from html import escape
from typing import Any, Protocol

from bot.alerts.rules import Direction, distance_percent
from bot.i18n import DEFAULT, N_, translator

COMMANDS: list[tuple[str, str]] = [
    ("alert", N_("Alert when a price reaches a level")),
    ("alerts", N_("List your alerts")),
    ("delete", N_("Delete an alert")),
    ("price", N_("Latest prices")),
    ("chart", N_("Candlestick chart with your levels")),
    ("pause", N_("Silence your alerts")),
    ("resume", N_("Turn your alerts back on")),
    ("language", N_("Choose the language")),
    ("export", N_("Your alerts as a CSV file")),
    ("import", N_("Create alerts from an /export file")),
    ("help", N_("How to use the bot")),
    ("start", N_("About this bot")),
]

USAGE = {
    "alert_usage": N_("Tell me a symbol and a price, e.g. <code>/alert BTCUSDT 70000</code> "
                      "or <code>/alert ETHUSDT below 2500 buy the dip</code>."),
    "delete_usage": N_("Tell me which alert, e.g. <code>/delete 12</code>. /alerts shows the numbers."),
    "price_usage": N_("Tell me one or more symbols, e.g. <code>/price BTCUSDT ETHUSDT</code>."),
    "chart_usage": N_("Tell me a symbol and, if you like, an interval, e.g. <code>/chart BTCUSDT</code> "
                      "or <code>/chart ETHUSDT 15m</code>."),
    "bad_alert_id": N_("{value} is not an alert number. Use the number after # in /alerts, e.g. <code>/delete 12</code>."),
    "bad_symbol": N_("{value} is not a symbol. Symbols look like BTCUSDT or 1000PEPEUSDT."),
    "bad_level": N_("{value} is not a price. Write it like <code>70000</code>, <code>0.0525</code> or <code>100k</code>."),
    "level_not_positive": N_("The price must be above zero, e.g. <code>/alert BTCUSDT 70000</code>."),
    "level_too_large": N_("{value} is larger than any futures price. Check the number of zeros."),
    "level_too_precise": N_("{value} has too many decimals: at most 10, e.g. <code>0.0000012345</code>."),
    "note_too_long": N_("The note is too long: keep it under {value} characters."),
    "too_many_symbols": N_("At most {value} symbols at once, please."),
    "bad_percent": N_("{value} is not a move. Write <code>+5%</code>, <code>-3%</code> or <code>±2%</code> "
                      "from the current price, or <code>3% 15m</code> for a move either way within 15 minutes."),
    "margin_with_move": N_("<code>margin</code> is for price levels; a move alert with <code>every</code> "
                           "rests for the cooldown, e.g. <code>/alert BTCUSDT 3% 15m every 1h</code>."),
    "percent_out_of_range": N_("{value} is out of range: from 0.01% up to +1000%, and less than -100%."),
    "percent_with_direction": N_("A move like {value} sets its own direction: <code>/alert BTCUSDT +5%</code>."),
    "bad_duration": N_("{value} is not a duration. Write <code>30m</code>, <code>4h</code>, <code>2d</code> or <code>1w</code>."),
    "duration_out_of_range": N_("{value} is out of range: <code>every</code> takes 1m to 7d, <code>for</code> 1m to 365d."),
    "until_too_far": N_("{value} is too far ahead: <code>until</code> takes a date within 10 years, "
                        "e.g. <code>until 2026-12-31</code>."),
    "alert_id_out_of_range": N_("{value} is not an alert number: they go from 1 to 2147483647. "
                                "/alerts shows yours."),
    "bad_until": N_("{value} is not a date. Write <code>until 2026-12-31</code> or <code>until 2026-12-31T18:00</code> (UTC)."),
    "bad_margin": N_("{value} is not a margin. Write a percentage up to 50%, e.g. <code>margin 1%</code>."),
    "margin_without_every": N_("<code>margin</code> goes with <code>every</code>, e.g. "
                               "<code>/alert BTCUSDT 70000 every 1h margin 1%</code>."),
    "option_twice": N_("{value} is given twice (and <code>for</code> and <code>until</code> exclude each other)."),
}

ENDED_MARK = N_(" 🏁 ended: no longer traded")
_STATES = {
    "paused": N_(" ⏸ paused"),
    "waiting": N_(" 🔁 fired, waits for the price to go back"),
    "cooling": N_(" 😴 quiet until {until}"),
    "arming": N_(" ⏳ level passed: armed once the price is back past {back}"),
    "ended": ENDED_MARK,
}


def _state_of(alert: AlertLike) -> str:
    return str(getattr(alert.state, "value", alert.state))


def _arming(alert: AlertLike) -> bool:
    return _state_of(alert) == "arming"


class AlertLike(Protocol):
    """What the texts read of an alert (bot.storage.models.Alert has it all)."""

    id: int
    symbol: str
    direction: Direction
    level: Decimal
    note: str
    state: Any
    repeat_seconds: int | None
    expires_at: datetime | None
    rearm_after: datetime | None
    rearm_level: Decimal | None
    window_seconds: int | None


def price(value: Decimal) -> str:
    """As the exchange wrote it, never in exponent form."""
    return f"{value:f}"


def duration(seconds: float) -> str:
    """3600 -> "1h", 5400 -> "1h 30m", 86400 -> "1d": the units the commands take, in every language."""
    minutes = int(seconds // 60)
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    return " ".join(p for p in parts if p) or "1m"


def moment(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC")


class Texts:
    """The texts in one language: `Texts("zh").start()`."""

    def __init__(self, lang: str = DEFAULT) -> None:
        self.lang = lang
        self._, self._n = translator(lang)

    # -- pieces -----------------------------------------------------------------------------
    def _arrow(self, direction: Direction) -> str:
        return self._("rises to ≥") if direction is Direction.UP else self._("falls to ≤")

    def _target(self, direction: Direction, level: Decimal, window_seconds: int | None, *, bold: bool = False) -> str:
        """"rises to ≥ 70000", or for a move alert "moves ±3% within 15m"."""
        shown = f"<b>{price(level)}</b>" if bold else price(level)
        if direction is Direction.EITHER:
            return self._("moves ±{percent}% within {window}").format(
                percent=shown, window=duration(window_seconds or 0))
        return f"{self._arrow(direction)} {shown}"

    def _distance(self, alert: AlertLike, current: Decimal | None) -> str:
        if current is None or alert.direction is Direction.EITHER:
            return ""
        return f" ({distance_percent(alert.level, current):+}%)"

    def _note(self, note: str) -> str:
        return f"\n📝 {escape(note)}" if note else ""

    def _options(self, alert: AlertLike) -> str:
        """` · every 1h · until 2026-12-31 23:59 UTC`: what sets the alert apart from a plain one."""
        parts = []
        if alert.repeat_seconds:
            parts.append(self._("every {duration}").format(duration=duration(alert.repeat_seconds)))
        if alert.expires_at is not None:
            parts.append(self._("until {moment}").format(moment=moment(alert.expires_at)))
        return "".join(f" · {p}" for p in parts)

    def _line(self, alert: AlertLike) -> str:
        return f"#{alert.id} {escape(alert.symbol)} {self._target(alert.direction, alert.level, alert.window_seconds)}"

    def commands(self) -> list[tuple[str, str]]:
        return [(name, self._(description)) for name, description in COMMANDS]

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
            "/price <code>SYMBOL [SYMBOL...]</code> — latest prices, e.g. <code>/price BTCUSDT ETHUSDT</code>\n"
            "/chart <code>SYMBOL [1m|5m|15m|1h|4h|1d]</code> — a candlestick chart with your levels, "
            "e.g. <code>/chart BTCUSDT 4h</code>\n"
            "/pause — silence your alerts without deleting them; /resume turns them back on.\n"
            "/language — English or 简体中文.\n\n"
            "An alert fires once, then stops, unless it repeats. Symbols are Binance futures symbols such as "
            "BTCUSDT, 1000PEPEUSDT or BTCUSDT_261225."
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
                   page: int, pages: int, live_count: int | None = None) -> str:
        """One page; `live_count` is the chat's live alerts on every page (default: this page's)."""
        if not live and not fired:
            return self._("You have no active alerts. Create one with <code>/alert BTCUSDT 70000</code>.")
        title = self._("<b>Your alerts</b> ({count})").format(count=len(live) if live_count is None else live_count)
        if pages > 1:
            title += " · " + self._("page {page}/{pages}").format(page=page + 1, pages=pages)
        lines = [title]
        for alert in live:
            now = prices.get(alert.symbol)
            distance = (" · " + self._("{percent}% from {price}").format(
                percent=f"{distance_percent(alert.level, now):+}", price=price(now))
            ) if now and alert.direction is not Direction.EITHER else ""
            state = _STATES.get(getattr(alert.state, "value", alert.state))
            mark = self._(state).format(until=moment(alert.rearm_after) if alert.rearm_after else "",
                                        back=price(alert.rearm_level) if alert.rearm_level else "") if state else ""
            lines.append(self._line(alert) + distance + self._options(alert) + mark
                         + (f" — {escape(alert.note)}" if alert.note else ""))
        if fired:
            lines.append("\n" + self._("<b>Fired lately</b> (🔁 re-arms one)"))
            lines.extend(self._line(a) + (self._(ENDED_MARK) if _state_of(a) == "ended" else "")
                         + (f" — {escape(a.note)}" if a.note else "") for a in fired)
        return "\n".join(lines)

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

    def resumed_waiting(self, alerts: Sequence[AlertLike], prices: Mapping[str, Decimal]) -> str:
        """After /resume or /start: the alerts whose level was passed during the pause."""
        if not alerts:
            return ""
        lines = [self._("⏳ Passed during the pause, so they wait for a new crossing:")]
        lines += [self._line(a) + (" · " + self._("now {price}").format(price=price(prices[a.symbol]))
                                   if a.symbol in prices else "") for a in alerts]
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

    # -- buttons and their answers ------------------------------------------------------------------
    def snooze_button(self) -> str:
        return self._("😴 Snooze 1 h")

    def rearm_button(self) -> str:
        return self._("🔁 Re-arm")

    def delete_label(self) -> str:
        return self._("🗑 Delete")

    def delete_button(self, alert_id: int, symbol: str) -> str:
        return f"🗑 #{alert_id} {symbol}"

    def page_button(self, forward: bool) -> str:
        return self._("Next ▶") if forward else self._("◀ Back")

    def snoozed(self, alert_id: int, until: datetime) -> str:
        return self._("😴 #{id} quiet until {moment}").format(id=alert_id, moment=moment(until))

    def rearmed(self, alert_id: int) -> str:
        return self._("🔁 #{id} watching again").format(id=alert_id)

    def deleted_short(self, alert_id: int) -> str:
        return f"🗑 #{alert_id}"

    def button_stale(self) -> str:
        return self._("That alert no longer exists.")

    # -- prices ---------------------------------------------------------------------------------
    def prices_list(self, symbols: Iterable[str], prices: Mapping[str, Decimal], received_at: float) -> str:
        lines = []
        for symbol in symbols:
            value = prices.get(symbol)
            lines.append(f"{escape(symbol)}: <b>{price(value)}</b>" if value is not None
                         else f"{escape(symbol)}: " + self._("not listed on Binance futures"))
        age = max(0, int(time.time() - received_at))
        lines.append("<i>" + self._("{age} s ago").format(age=age) + "</i>")
        return "\n".join(lines)

    def unknown_symbol(self, symbol: str, suggestions: Sequence[str]) -> str:
        text = self._("🤔 {symbol} is not a Binance USDⓈ-M futures symbol.").format(symbol=escape(symbol))
        if suggestions:
            text += " " + self._("Did you mean {symbols}?").format(
                symbols=", ".join(f"<code>{escape(s)}</code>" for s in suggestions))
        return text

    def exchange_restricted(self) -> str:
        return self._("⚠️ Binance refuses to serve the place where this bot runs, so it has no prices. "
                      "Only the bot's owner can fix that, by running it from a location Binance serves.")

    def exchange_unavailable(self) -> str:
        return self._("⚠️ Binance is not answering right now. Please try again in a minute.")

    # -- charts ---------------------------------------------------------------------------------
    def chart_button(self) -> str:
        return self._("📈 Chart")

    def chart_bad_interval(self, value: str, intervals: Iterable[str]) -> str:
        return self._("{value} is not a chart interval. Choose one of {intervals}, e.g. "
                      "<code>/chart BTCUSDT 15m</code>.").format(
            value=f"<code>{escape(value)}</code>", intervals=" ".join(f"<code>{i}</code>" for i in intervals))

    def chart_caption(self, symbol: str, interval: str, latest: str, alerts: Sequence[AlertLike],
                      crossed: tuple[int, Decimal, datetime] | None = None, limit: int = 1024) -> str:
        """Symbol, interval and latest price, then the alerts drawn (with their notes, which
        may be in any script: they live here, not in the picture), cut to Telegram's 1024."""
        head = self._("📈 <b>{symbol}</b> · {interval} · now <b>{price}</b>").format(
            symbol=escape(symbol), interval=interval, price=latest)
        lines = [head]
        if crossed is not None:  # (alert id, price, when) of the notification's crossing
            lines.append(self._("🔔 #{id} crossed {price} at {moment}").format(
                id=crossed[0], price=price(crossed[1]), moment=moment(crossed[2])))
        for alert in alerts:
            line = f"#{alert.id} {self._target(alert.direction, alert.level, alert.window_seconds)}"
            line += f" — {escape(alert.note)}" if alert.note else ""
            if len("\n".join([*lines, line]).encode("utf-16-le")) // 2 > limit - 2:
                lines.append("…")
                break
            lines.append(line)
        return "\n".join(lines)

    def chart_rate_limited(self, seconds: float) -> str:
        return self._("⚠️ Binance asks the bot to slow down. Try the chart again in {seconds} s.").format(
            seconds=max(1, round(seconds)))

    def chart_restricted(self) -> str:
        return self._("⚠️ Binance does not serve charts where this bot runs; its owner can fix that. "
                      "Your alerts keep working.")

    def chart_failed(self) -> str:
        return self._("⚠️ The chart is unavailable right now. Please try again later; your alerts keep working.")

    # -- chat controls --------------------------------------------------------------------------
    def paused(self, count: int) -> str:
        if not count:
            return self._("Nothing to pause: you have no active alerts.")
        return self._n("⏸ {count} alert paused. It will not fire until you send /resume.",
                       "⏸ {count} alerts paused. They will not fire until you send /resume.", count).format(count=count)

    def resumed(self, count: int) -> str:
        if not count:
            return self._("Nothing to resume: you have no paused alerts.")
        return self._n("▶️ {count} alert watching again.", "▶️ {count} alerts watching again.", count).format(
            count=count)

    def language_menu(self) -> str:
        return self._("Choose the language for this chat:")

    def language_set(self) -> str:
        return self._("✅ This chat now speaks English.")

    def not_allowed(self) -> str:
        return self._("Sorry, this bot is private. Ask its owner to add this chat.")

    def not_allowed_short(self) -> str:
        return self._("This bot is private.")

    def admins_only(self) -> str:
        return self._("In a group, only its administrators can create, delete or pause alerts. "
                      "/alerts and /price work for everyone.")

    def admins_only_short(self) -> str:
        return self._("Only group administrators can do that.")

    def stats(self, figures: Mapping[str, float | int | None]) -> str:
        age = figures.get("last_prices_age")
        weight = figures.get("weight_used")
        return self._(
            "<b>Stats</b>\n"
            "Chats with alerts: {chats}\n"
            "Active alerts: {active}\n"
            "Ticks since start: {ticks}\n"
            "Last prices: {age}\n"
            "Request weight this minute: {weight} of {limit}\n"
            "Messages sent: {sent}, pending: {pending}, failed: {failed}"
        ).format(
            chats=figures["chats"], active=figures["active_alerts"], ticks=figures["ticks"],
            age=self._("{age} s ago").format(age=f"{age:.0f}") if age is not None else self._("none yet"),
            weight=weight if weight is not None else "?", limit=figures.get("weight_limit") or "?",
            sent=figures["messages_sent"], pending=figures["messages_pending"], failed=figures["messages_dropped"],
        ) + self._wick_watch(figures)

    def _wick_watch(self, figures: Mapping[str, float | int | str | None]) -> str:
        """Whether the market stream that catches wicks between checks is live (bot.exchange.streams)."""
        state = figures.get("stream")
        if state is None:
            return ""
        states = {
            "live": self._("live"),
            "down": self._("down: alerts fire from the checked prices only"),
            "off": self._("off (BINANCE_STREAM_URL is empty)"),
            "idle": self._("idle (no price-level alert)"),
        }
        return "\n" + self._("Wicks between checks: {state}, {symbols} symbols watched").format(
            state=states.get(str(state), str(state)), symbols=figures.get("stream_symbols") or 0)

    # -- backups: /export and /import -----------------------------------------------------------
    def export_caption(self, count: int) -> str:
        return self._n("📦 {count} alert of this chat. Send this file back with the caption /import to create it again.",
                       "📦 {count} alerts of this chat. Send this file back with the caption /import to create them "
                       "again.", count).format(count=count)

    def export_empty(self) -> str:
        return self._("You have no live alerts to export.")

    def import_usage(self) -> str:
        return self._("Send a CSV file made by /export with the caption <code>/import</code>, "
                      "or answer such a file with <code>/import</code>.")

    def import_too_large(self, kilobytes: int) -> str:
        return self._("That file is too large: at most {size} KB. Nothing was created.").format(size=kilobytes)

    def import_too_many(self, limit: int) -> str:
        return self._("That file lists more than {limit} alerts, the most a chat may have. "
                      "Nothing was created.").format(limit=limit)

    def import_malformed(self, line: int) -> str:
        return self._("That file is not an alert list from /export (line {line}). Nothing was created. "
                      "Its first line must be <code>symbol,direction,level,note,repeat,expiry</code>.").format(line=line)

    def import_empty(self) -> str:
        return self._("That file lists no alerts. Nothing was created.")

    def import_result(self, created: int, refused: int) -> str:
        return self._("📥 Import: {created} created, {refused} refused.").format(created=created, refused=refused)

    def import_created(self, line: int, alert: AlertLike) -> str:
        return self._("Line {line}: ✅ {alert}").format(line=line, alert=self._line(alert) + self._options(alert))

    def import_far_level(self, level: Decimal, current: Decimal) -> str:
        return self._("{level} is more than 10 times away from the price ({price}): create it with /alert, "
                      "which asks you to confirm.").format(level=price(level), price=price(current))

    def import_refused(self, line: int, reason: str) -> str:
        return self._("Line {line}: ✖ {reason}").format(line=line, reason=reason)

    # -- too many commands ----------------------------------------------------------------------
    def slow_down(self) -> str:
        return self._("🐢 That is a lot of commands at once. I will ignore this chat until the minute is over; "
                      "please send them more slowly.")

    def slow_down_short(self) -> str:
        return self._("🐢 Too many at once: wait a minute.")

    # -- errors ---------------------------------------------------------------------------------
    def usage_error(self, reason: str, value: str = "") -> str:
        return self._(USAGE[reason]).format(value=f"<code>{escape(value)}</code>")

    def unknown_command(self) -> str:
        return self._("I don't know that command. /help lists the ones I do.")

    def internal_error(self) -> str:
        return self._("😵 Something went wrong on my side. Please try again; "
                      "if it keeps happening, tell the bot's owner.")

    def internal_error_short(self) -> str:
        return self._("😵 Something went wrong. Please try again.")
