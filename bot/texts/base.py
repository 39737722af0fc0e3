"""What every part of the text catalogue shares: the menu, the usage errors, the alert states and
how numbers, durations and moments are written.

English is written here; translations live in the gettext catalog bot/locales/<lang>. Every
value a user typed goes through `escape`; translated templates are filled with `.format`.
"""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo
from decimal import Decimal
from html import escape
from typing import Any, Protocol

from bot.alerts.rules import Direction, distance_percent
from bot.i18n import DEFAULT, N_, translator
from bot.alerts.editing import source_of
from bot.sources import PriceSource

COMMANDS: list[tuple[str, str]] = [
    ("alert", N_("Alert when a price reaches a level")),
    ("alerts", N_("List your alerts")),
    ("delete", N_("Delete an alert")),
    ("edit", N_("Move an alert to a new level")),
    ("price", N_("Latest prices")),
    ("chart", N_("Candlestick chart with your levels")),
    ("liq", N_("Warnings before your liquidation price")),
    ("pause", N_("Silence your alerts")),
    ("resume", N_("Turn your alerts back on")),
    ("language", N_("Choose the language")),
    ("timezone", N_("Your time zone")),
    ("quiet", N_("Quiet hours")),
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
    "bad_until": N_("{value} is not a date. Write <code>until 2026-12-31</code> or <code>until 2026-12-31T18:00</code>, "
                    "on your clock (see /timezone)."),
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


def moment(when: datetime, zone: tzinfo | None = None) -> str:
    """A stored moment (naive UTC) on the chat's clock (/timezone): `2026-12-31 23:59 CET`."""
    if zone is None:
        return when.strftime("%Y-%m-%d %H:%M UTC")
    local = when.replace(tzinfo=timezone.utc).astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "UTC")


class TextsBase:
    """The language and the pieces every part of the catalogue builds on."""

    def __init__(self, lang: str = DEFAULT, zone: tzinfo | None = None) -> None:
        self.lang = lang
        self.zone = zone  # the chat's /timezone: times are shown, and `until` read, on its clock
        self.topics: dict[int, str] | None = None  # forum topic names: /alerts marks each alert's topic
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
            parts.append(self._("until {moment}").format(moment=moment(alert.expires_at, self.zone)))
        return "".join(f" · {p}" for p in parts) + self._place(alert)

    def _place(self, alert: AlertLike) -> str:
        """` · 🔕 silent · 🧵 BTC`: how and where (issue 25) it is announced."""
        text = " · 🔕 " + self._("silent") if getattr(alert, "silent", False) else ""
        thread = getattr(alert, "message_thread_id", None)
        if thread is not None and self.topics is not None:
            name = self.topics.get(thread)
            text += " · 🧵 " + (escape(name) if name else self._("topic #{id}").format(id=thread))
        return text

    def _line(self, alert: AlertLike) -> str:
        if source_of(alert) is PriceSource.FUNDING_BEFORE:  # a funding reminder
            return f"#{alert.id} {escape(alert.symbol)} " + self._("funding reminder {lead} before").format(
                lead=duration(float(alert.level)))
        return (f"#{alert.id} {escape(alert.symbol)}{self._source(alert)} "
                f"{self._target(alert.direction, alert.level, alert.window_seconds)}")

    def _source(self, alert: object) -> str:
        """" mark price" or " index price" for an alert on that price (docs/futures.md); "" for the last price."""
        source = source_of(alert).value
        if source == "mark":
            return " " + self._("mark price")
        if source == "index":
            return " " + self._("index price")
        if source == "funding":
            return " " + self._("funding rate")
        return ""

    def commands(self) -> list[tuple[str, str]]:
        return [(name, self._(description)) for name, description in COMMANDS]
