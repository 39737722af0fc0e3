"""The words of editing an alert in place (`/edit`, the ✏️ button) and of the grouped /alerts.

Texts with these added (handlers build `EditTexts(lang)`): the same catalogue and helpers,
English here and Chinese in bot/locales/zh.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape

from bot.i18n import N_
from bot.texts import AlertLike, Texts, price
from bot.alerts.editing import source_of

EDIT_USAGE = {
    "edit_usage": N_("Tell me which alert and its new level, e.g. <code>/edit 12 71000</code>, "
                     "<code>/edit 12 below 2500 new note</code> or <code>/edit 12 +5%</code>. "
                     "/alerts shows the numbers."),
    "edit_move": N_("{value} is a move alert's size: a move alert is changed by deleting it and creating "
                    "another, e.g. <code>/alert BTCUSDT 3% 15m</code>."),
    "edit_both_ways": N_("{value} makes two alerts; an edit moves one. Give one level, e.g. "
                         "<code>/edit 12 +2%</code>."),
    "edit_keeps_options": N_("An edit keeps the alert's repeat, expiry and sound (silent or not): give only the level and a note, "
                             "e.g. <code>/edit 12 71000 take profit</code>."),
}


class EditTexts(Texts):
    def usage_error(self, reason: str, value: str = "") -> str:
        if reason in EDIT_USAGE:
            return self._(EDIT_USAGE[reason]).format(value=f"<code>{escape(value)}</code>")
        return super().usage_error(reason, value)

    def alert_edited(self, alert: AlertLike, current: Decimal, passed: bool) -> str:
        """The answer to an edit: where the alert is now, and, when its level is already passed,
        that it waits for the next crossing."""
        source = source_of(alert).value
        funding = source == "funding"  # its level and `current` are rates in %
        text = self._("✏️ Alert <b>#{id}</b> moved: {symbol} {target}").format(
            id=alert.id, symbol=escape(alert.symbol) + self._source(alert),
            target=self._target(alert.direction, alert.level, alert.window_seconds, bold=True) + ("%" if funding else ""),
        ) + ("" if funding else self._distance(alert, current)) + self._options(alert)
        if passed and not funding:
            text += "\n" + self.already_passed(alert.symbol, alert.direction, alert.level, current)
        if funding:
            now = self._("The funding rate is now {rate}%.").format(rate=f"{current.normalize():f}" if current else "0")
        elif source in ("mark", "index"):  # the price it watches, named: the last price may be elsewhere
            now = self._("Watches the {source}, now {price}.").format(source=self._source(alert).strip(), price=price(current))
        else:
            now = self._("Now {price}.").format(price=price(current))
        return text + "\n" + now + self._note(alert.note)

    def not_a_level_alert(self, alert_id: int) -> str:
        return self._("#{id} is a move alert: it has no level to move. Delete it and create another, "
                      "e.g. <code>/alert BTCUSDT 3% 15m</code>.").format(id=alert_id)

    def reminder_not_editable(self, alert_id: int) -> str:
        """/edit of a funding reminder: its lead is not a price (`/edit 5 30m` would read 30 million)."""
        return self._("#{id} is a funding reminder: to change how long before the funding it reminds you, "
                      "delete it and create another, e.g. <code>/alert BTCUSDT funding 30m before</code>.").format(id=alert_id)

    def edit_button(self, alert_id: int) -> str:
        return self._("✏️ #{id}").format(id=alert_id)

    def edit_ask(self, alert: AlertLike) -> str:
        """The ✏️ button's question (a forced reply)."""
        return self._("✏️ New level for #{id} {symbol} (now {target})? Write it like <code>71000</code>, "
                      "<code>below 2500</code> or <code>+5%</code>, a new note after it if you like; "
                      "/cancel keeps it.").format(
            id=alert.id, symbol=escape(alert.symbol) + self._source(alert),
            target=self._target(alert.direction, alert.level, None))

    def edit_confirm(self, alert_id: int, level: Decimal, current: Decimal) -> str:
        return self.far_level() + "\n" + self._("Move #{id} to {level}? Now {price}.").format(
            id=alert_id, level=price(level), price=price(current))

    def edit_confirm_button(self) -> str:
        return self._("✏️ Move it")

    def edit_cancelled(self) -> str:
        return self._("Cancelled: the alert was not changed.")

    def edit_gone(self) -> str:
        return self._("This question has expired or is someone else's. /alerts shows the ✏️ buttons again.")
