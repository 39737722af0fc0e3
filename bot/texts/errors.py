"""Too many commands, usage errors and the bot's own failures."""

from __future__ import annotations

from html import escape

from bot.texts.base import USAGE, TextsBase


class ErrorTexts(TextsBase):
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
