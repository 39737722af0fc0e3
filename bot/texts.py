"""Every text the bot sends, in Telegram's HTML. Whatever a user typed goes through `escape`."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from html import escape

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
        "/alerts — your active alerts, with a button to delete each.\n"
        "/delete <code>ID</code> — delete an alert, e.g. <code>/delete 12</code>\n"
        "/price <code>SYMBOL [SYMBOL...]</code> — latest prices, e.g. <code>/price BTCUSDT ETHUSDT</code>\n"
        "/pause — silence your alerts without deleting them; /resume turns them back on.\n\n"
        "An alert fires once, then stops. Symbols are Binance futures symbols such as "
        "BTCUSDT, 1000PEPEUSDT or BTCUSDT_261225."
    )


def alert_created(alert_id: int, symbol: str, direction: Direction, level: Decimal, current: Decimal, note: str) -> str:
    return (
        f"✅ Alert <b>#{alert_id}</b>: {escape(symbol)} {_arrow(direction)} <b>{price(level)}</b>\n"
        f"Now {price(current)} ({distance_percent(level, current):+}%)."
        f"{_note(note)}"
    )


def alert_fired(alert_id: int, symbol: str, direction: Direction, level: Decimal, crossed_at: Decimal, note: str) -> str:
    verb = "rose to" if direction is Direction.UP else "fell to"
    return (
        f"🔔 <b>{escape(symbol)}</b> {verb} <b>{price(crossed_at)}</b> "
        f"(your level {price(level)}, alert #{alert_id})"
        f"{_note(note)}"
    )


def alert_list(alerts: Sequence[tuple[int, str, Direction, Decimal, str]], prices: Mapping[str, Decimal]) -> str:
    if not alerts:
        return "You have no active alerts. Create one with <code>/alert BTCUSDT 70000</code>."
    lines = [f"<b>Your alerts</b> ({len(alerts)})"]
    for alert_id, symbol, direction, level, note in alerts:
        now = prices.get(symbol)
        distance = f" · {distance_percent(level, now):+}% from {price(now)}" if now else ""
        lines.append(f"#{alert_id} {escape(symbol)} {_arrow(direction)} {price(level)}{distance}"
                     + (f" — {escape(note)}" if note else ""))
    return "\n".join(lines)


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
