"""A chat's own controls: /pause, /resume, /language, the allowlist, group admins, /stats."""

from __future__ import annotations

from collections.abc import Mapping

from bot.texts.base import TextsBase


class ChatTexts(TextsBase):
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
