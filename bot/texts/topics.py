"""Forum topics, silent alerts, time zones and quiet hours (issue 25): the notes above a
notification, the digest's first line, and the /timezone and /quiet answers."""

from __future__ import annotations

from datetime import datetime
from html import escape

from bot.alerts.hours import QuietHours, zone
from bot.texts.base import TextsBase, moment


class TopicTexts(TextsBase):
    def help_places(self) -> str:
        """The end of /help: silent alerts, time zones, quiet hours, topics."""
        return "\n\n" + self._(
            "<code>silent</code> after the price: its notifications arrive without a sound, "
            "e.g. <code>/alert BTCUSDT 70000 silent</code>\n"
            "/timezone <code>Europe/Berlin</code> — the clock for times and <code>until</code> (default UTC).\n"
            "/quiet <code>23:00-07:00</code> — notifications arrive silently at night; add <code>digest</code> "
            "to get them as one message at the end; <code>/quiet off</code>.\n"
            "In a group with topics, an alert is announced in the topic it was made in."
        )

    # -- topics ---------------------------------------------------------------------------------
    def topic_gone(self, name: str | None, thread_id: int) -> str:
        """Above a notification sent to General because its topic was closed or deleted."""
        topic = f"“{escape(name)}”" if name else f"#{thread_id}"
        return self._("📌 For the topic {topic}, which is closed or deleted:").format(topic=topic)

    # -- time zones -------------------------------------------------------------------------
    def timezone_menu(self, name: str, now: datetime) -> str:
        """`now`: naive UTC, like every stored moment; shown on the clock of `name`."""
        return self._("🕰 Your time zone is <b>{zone}</b> (it is {time} there). Pick one below, or send "
                      "<code>/timezone Europe/Berlin</code> with any IANA name.").format(
            zone=escape(name), time=moment(now, zone(name)))

    def timezone_set(self, name: str, now: datetime) -> str:
        return self._("🕰 Time zone set to <b>{zone}</b>: it is {time} there. Times I show, <code>until</code> "
                      "dates and quiet hours now follow this clock.").format(
            zone=escape(name), time=moment(now, zone(name)))

    def unknown_zone(self, value: str, suggestions: list[str]) -> str:
        text = self._("I don't know the time zone {value}.").format(value=f"<code>{escape(value)}</code>")
        if suggestions:
            text += " " + self._("Did you mean {names}?").format(
                names=", ".join(f"<code>/timezone {escape(s)}</code>" for s in suggestions))
        else:
            text += " " + self._("Write an IANA name like <code>/timezone Europe/Berlin</code> or "
                                 "<code>/timezone America/New_York</code>.")
        return text

    # -- quiet hours ------------------------------------------------------------------------
    def quiet_set(self, hours: QuietHours, zone: str) -> str:
        if hours.digest:
            return self._("🌙 Quiet hours {window} ({zone}): notifications are held and sent as one digest "
                          "when they end.").format(window=hours.label(), zone=escape(zone))
        return self._("🌙 Quiet hours {window} ({zone}): notifications arrive without a sound.").format(
            window=hours.label(), zone=escape(zone))

    def quiet_off(self) -> str:
        return self._("🔔 Quiet hours are off: notifications ring again.")

    def quiet_status(self, hours: QuietHours | None, zone: str) -> str:
        now = self.quiet_set(hours, zone) if hours else self._("🔔 No quiet hours.")
        return now + "\n" + self._("Set them with <code>/quiet 23:00-07:00</code> (silent), "
                                   "<code>/quiet 23:00-07:00 digest</code> (held, then one message), "
                                   "or <code>/quiet off</code>.")

    def quiet_usage(self, reason: str, value: str = "") -> str:
        if reason == "bad_quiet":
            return self._("{value} is not a time. Write hours and minutes, like <code>/quiet 23:00-07:00</code>."
                          ).format(value=f"<code>{escape(value)}</code>")
        if reason == "quiet_empty":
            return self._("{value} starts and ends at the same time. Write a window, like "
                          "<code>/quiet 23:00-07:00</code>.").format(value=f"<code>{escape(value)}</code>")
        return self._("Write <code>/quiet 23:00-07:00</code> (silent), <code>/quiet 23:00-07:00 digest</code> "
                      "(held, then one message) or <code>/quiet off</code>.")

    def digest_header(self, count: int) -> str:
        return self._n("🌙 During your quiet hours {count} notification came:",
                       "🌙 During your quiet hours {count} notifications came, in order:", count).format(count=count)

