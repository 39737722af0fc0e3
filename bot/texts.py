"""Every text the bot sends, in Telegram's HTML. Whatever a user typed goes through `escape`."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from html import escape
from typing import Any, Protocol

from bot.alerts.rules import Direction, distance_percent

COMMANDS: list[tuple[str, str]] = [
    ("alert", "Alert when a price reaches a level"),
    ("alerts", "List your alerts"),
    ("delete", "Delete an alert"),
    ("price", "Latest prices"),
    ("pause", "Silence your alerts"),
    ("resume", "Turn your alerts back on"),
    ("help", "How to use the bot"),
    ("start", "About this bot"),
]


def price(value: Decimal) -> str:
    """As the exchange wrote it, never in exponent form."""
    return f"{value:f}"


def _arrow(direction: Direction) -> str:
    return "rises to ≥" if direction is Direction.UP else "falls to ≤"


def _note(note: str) -> str:
    return f"\n📝 {escape(note)}" if note else ""


def start() -> str:
    return (
        "👋 <b>pricealert</b> watches Binance USDⓈ-M futures prices and tells you "
        "the moment a price reaches a level you set.\n\n"
        "Try <code>/alert BTCUSDT 70000</code>, then /alerts to see it.\n"
        "/help lists every command."
    )


def alerts_resumed(count: int) -> str:
    alerts = "1 paused alert is" if count == 1 else f"{count} paused alerts are"
    return f"\n\n👋 Welcome back: {alerts} watching again. /alerts lists them."


def help_text() -> str:
    return (
        "<b>Commands</b>\n"
        "/alert <code>SYMBOL PRICE [note]</code> — alert when the price reaches PRICE; "
        "it waits for a rise if the price is below, a fall if above.\n"
        "  e.g. <code>/alert BTCUSDT 70000 take profit</code>\n"
        "/alert <code>SYMBOL above|below PRICE [note]</code> — choose the direction "
        "(also <code>&gt;</code> <code>&lt;</code> <code>&gt;=</code> <code>&lt;=</code>).\n"
        "  e.g. <code>/alert ethusdt below 2500</code>\n"
        "/alert <code>SYMBOL +5%|-3%|±2%</code> — a move from the current price, e.g. <code>/alert BTCUSDT +5%</code>\n"
        "Options after the price: <code>every 1h</code> fires again after the price went back "
        "(<code>margin 1%</code>, default 0.5%) and the cooldown ended; "
        "<code>for 1d</code> or <code>until 2026-12-31</code> ends it.\n"
        "  e.g. <code>/alert BTCUSDT 70000 every 1h for 1w breakout</code>\n"
        "/alerts — your active alerts, with a button to delete each.\n"
        "/delete <code>ID</code> — delete an alert, e.g. <code>/delete 12</code>\n"
        "/price <code>SYMBOL [SYMBOL...]</code> — latest prices, e.g. <code>/price BTCUSDT ETHUSDT</code>\n"
        "/pause — silence your alerts without deleting them; /resume turns them back on.\n\n"
        "An alert fires once, then stops, unless it repeats. Symbols are Binance futures symbols such as "
        "BTCUSDT, 1000PEPEUSDT or BTCUSDT_261225."
    )


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


def duration(seconds: float) -> str:
    """3600 -> "1h", 5400 -> "1h 30m", 86400 -> "1d"."""
    minutes = int(seconds // 60)
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    return " ".join(p for p in parts if p) or "1m"


def moment(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC")


def _options(alert: AlertLike) -> str:
    """` · every 1h · until 2026-12-31 23:59 UTC`: what sets the alert apart from a plain one."""
    parts = []
    if alert.repeat_seconds:
        parts.append(f"every {duration(alert.repeat_seconds)}")
    if alert.expires_at is not None:
        parts.append(f"until {moment(alert.expires_at)}")
    return "".join(f" · {p}" for p in parts)


def alerts_created(alerts: Sequence[AlertLike], current: Decimal) -> str:
    lines = [
        f"✅ Alert <b>#{a.id}</b>: {escape(a.symbol)} {_arrow(a.direction)} <b>{price(a.level)}</b>"
        f" ({distance_percent(a.level, current):+}%){_options(a)}"
        for a in alerts
    ]
    lines.append(f"Now {price(current)}.{_note(alerts[0].note)}")
    return "\n".join(lines)


def alert_fired(alert_id: int, symbol: str, direction: Direction, level: Decimal, crossed_at: Decimal, note: str,
                *, repeats: bool = False) -> str:
    verb = "rose to" if direction is Direction.UP else "fell to"
    again = "\n🔁 It fires again after the price goes back and the cooldown ends." if repeats else ""
    return (
        f"🔔 <b>{escape(symbol)}</b> {verb} <b>{price(crossed_at)}</b> "
        f"(your level {price(level)}, alert #{alert_id})"
        f"{_note(note)}{again}"
    )


def alert_expired(alert_id: int, symbol: str, direction: Direction, level: Decimal, note: str, *, fired: bool) -> str:
    how = "expired" if fired else "expired without firing"
    return f"⌛ Alert #{alert_id} ({escape(symbol)} {_arrow(direction)} {price(level)}) {how}.{_note(note)}"


_STATE_MARKS = {"paused": " ⏸ paused", "waiting": " 🔁 fired, waits for the price to go back",
                "cooling": " 😴 quiet until {until}"}


def alert_list(live: Sequence[AlertLike], fired: Sequence[AlertLike], prices: Mapping[str, Decimal],
               page: int, pages: int) -> str:
    if not live and not fired:
        return "You have no active alerts. Create one with <code>/alert BTCUSDT 70000</code>."
    lines = [f"<b>Your alerts</b> ({len(live)})" + (f" · page {page + 1}/{pages}" if pages > 1 else "")]
    for alert in live:
        now = prices.get(alert.symbol)
        distance = f" · {distance_percent(alert.level, now):+}% from {price(now)}" if now else ""
        state = _STATE_MARKS.get(getattr(alert.state, "value", alert.state), "")
        if alert.rearm_after is not None:
            state = state.format(until=moment(alert.rearm_after))
        lines.append(f"#{alert.id} {escape(alert.symbol)} {_arrow(alert.direction)} {price(alert.level)}"
                     f"{distance}{_options(alert)}{state}" + (f" — {escape(alert.note)}" if alert.note else ""))
    if fired:
        lines.append("\n<b>Fired lately</b> (🔁 re-arms one)")
        for alert in fired:
            lines.append(f"#{alert.id} {escape(alert.symbol)} {_arrow(alert.direction)} {price(alert.level)}"
                         + (f" — {escape(alert.note)}" if alert.note else ""))
    return "\n".join(lines)


def snooze_button() -> str:
    return "😴 Snooze 1 h"


def rearm_button() -> str:
    return "🔁 Re-arm"


def delete_label() -> str:
    return "🗑 Delete"


def page_button(forward: bool) -> str:
    return "Next ▶" if forward else "◀ Back"


def snoozed(alert_id: int, until: datetime) -> str:
    return f"😴 #{alert_id} quiet until {moment(until)}"


def rearmed(alert_id: int) -> str:
    return f"🔁 #{alert_id} watching again"


def past_expiry() -> str:
    return "That time has already passed. Use a future date, e.g. <code>until 2026-12-31</code>, or <code>for 1d</code>."


def delete_button(alert_id: int, symbol: str) -> str:
    return f"🗑 #{alert_id} {symbol}"


def alert_deleted(alert_id: int, symbol: str) -> str:
    return f"🗑 Alert #{alert_id} ({escape(symbol)}) deleted."


def alert_not_found(alert_id: int) -> str:
    return f"You have no active alert #{alert_id}. /alerts lists yours."


def prices_list(symbols: Iterable[str], prices: Mapping[str, Decimal], received_at: float) -> str:
    lines = []
    for symbol in symbols:
        value = prices.get(symbol)
        lines.append(f"{escape(symbol)}: <b>{price(value)}</b>" if value is not None
                     else f"{escape(symbol)}: not listed on Binance futures")
    age = max(0, int(time.time() - received_at))
    lines.append(f"<i>{age} s ago</i>")
    return "\n".join(lines)


def unknown_symbol(symbol: str, suggestions: Sequence[str]) -> str:
    text = f"🤔 {escape(symbol)} is not a Binance USDⓈ-M futures symbol."
    if suggestions:
        text += " Did you mean " + ", ".join(f"<code>{escape(s)}</code>" for s in suggestions) + "?"
    return text


def exchange_unavailable() -> str:
    return "⚠️ Binance is not answering right now. Please try again in a minute."


def too_many_alerts(limit: int) -> str:
    return f"You have {limit} active alerts, the most a chat may have. Delete one with /delete first."


def button_stale() -> str:
    return "That alert no longer exists."


_USAGE = {
    "alert_usage": "Tell me a symbol and a price, e.g. <code>/alert BTCUSDT 70000</code> "
                   "or <code>/alert ETHUSDT below 2500 buy the dip</code>.",
    "delete_usage": "Tell me which alert, e.g. <code>/delete 12</code>. /alerts shows the numbers.",
    "price_usage": "Tell me one or more symbols, e.g. <code>/price BTCUSDT ETHUSDT</code>.",
    "bad_alert_id": "{value} is not an alert number. Use the number after # in /alerts, e.g. <code>/delete 12</code>.",
    "bad_symbol": "{value} is not a symbol. Symbols look like BTCUSDT or 1000PEPEUSDT.",
    "bad_level": "{value} is not a price. Write it like <code>70000</code> or <code>0.0525</code>.",
    "level_not_positive": "The price must be above zero, e.g. <code>/alert BTCUSDT 70000</code>.",
    "level_too_large": "{value} is larger than any futures price. Check the number of zeros.",
    "level_too_precise": "{value} has too many decimals: at most 10, e.g. <code>0.0000012345</code>.",
    "note_too_long": "The note is too long: keep it under {value} characters.",
    "too_many_symbols": "At most {value} symbols at once, please.",
    "bad_percent": "{value} is not a move. Write <code>+5%</code>, <code>-3%</code> or <code>±2%</code>.",
    "percent_out_of_range": "{value} is out of range: from 0.01% up to +1000%, and less than -100%.",
    "percent_with_direction": "A move like {value} sets its own direction: <code>/alert BTCUSDT +5%</code>.",
    "bad_duration": "{value} is not a duration. Write <code>30m</code>, <code>4h</code>, <code>2d</code> or <code>1w</code>.",
    "duration_out_of_range": "{value} is out of range: <code>every</code> takes 1m to 7d, <code>for</code> 1m to 365d.",
    "bad_until": "{value} is not a date. Write <code>until 2026-12-31</code> or <code>until 2026-12-31T18:00</code> (UTC).",
    "bad_margin": "{value} is not a margin. Write a percentage up to 50%, e.g. <code>margin 1%</code>.",
    "margin_without_every": "<code>margin</code> goes with <code>every</code>, e.g. <code>/alert BTCUSDT 70000 every 1h margin 1%</code>.",
    "option_twice": "{value} is given twice (and <code>for</code> and <code>until</code> exclude each other).",
}


def usage_error(reason: str, value: str = "") -> str:
    return _USAGE[reason].format(value=f"<code>{escape(value)}</code>")



def unknown_command() -> str:
    return "I don't know that command. /help lists the ones I do."


def internal_error() -> str:
    return "😵 Something went wrong on my side. Please try again; if it keeps happening, tell the bot's owner."


def paused(count: int) -> str:
    if not count:
        return "Nothing to pause: you have no active alerts."
    return f"⏸ {count} alert{'s' if count != 1 else ''} paused. They will not fire until you send /resume."


def resumed(count: int) -> str:
    if not count:
        return "Nothing to resume: you have no paused alerts."
    return f"▶️ {count} alert{'s' if count != 1 else ''} watching again."


def not_allowed() -> str:
    return "Sorry, this bot is private. Ask its owner to add this chat."


def not_allowed_short() -> str:
    return "This bot is private."


def stats(figures: Mapping[str, float | int | None]) -> str:
    age = figures.get("last_prices_age")
    weight = figures.get("weight_used")
    return (
        "<b>Stats</b>\n"
        f"Chats with alerts: {figures['chats']}\n"
        f"Active alerts: {figures['active_alerts']}\n"
        f"Ticks since start: {figures['ticks']}\n"
        f"Last prices: {f'{age:.0f} s ago' if age is not None else 'none yet'}\n"
        f"Request weight this minute: {weight if weight is not None else '?'} of {figures.get('weight_limit') or '?'}\n"
        f"Messages sent: {figures['messages_sent']}, pending: {figures['messages_pending']}, "
        f"failed: {figures['messages_dropped']}"
    )


def admins_only() -> str:
    return "In a group, only its administrators can create, delete or pause alerts. /alerts and /price work for everyone."


def admins_only_short() -> str:
    return "Only group administrators can do that."
