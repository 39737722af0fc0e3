"""The inline buttons' labels and the short answers to a press."""

from __future__ import annotations

from datetime import datetime

from bot.texts.base import moment, TextsBase


class ButtonTexts(TextsBase):
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
        return self._("😴 #{id} quiet until {moment}").format(id=alert_id, moment=moment(until, self.zone))

    def rearmed(self, alert_id: int) -> str:
        return self._("🔁 #{id} watching again").format(id=alert_id)

    def deleted_short(self, alert_id: int) -> str:
        return f"🗑 #{alert_id}"

    def button_stale(self) -> str:
        return self._("That alert no longer exists.")
