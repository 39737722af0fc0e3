"""A notification in words and buttons: what the tick recorded, said in the chat's language.

The domain decides what fired (bot.alerts.tick) and hands these over without reading them; the
tick records the words with the firing, in one transaction (bot.storage.firing), and the sender
puts the buttons under them when it delivers (bot.notify.sender).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.alerts.hours import zone as chat_zone
from bot.storage.models import MessageKind
from bot.storage.store import EndedAlerts, ExpiredAlert, FiredAlert, PendingMessage
from bot.sources import PriceSource
from bot.texts import Texts
from bot.texts.futures import FuturesTexts

# Callback data under a notification, at most 64 bytes: "<action><alert id>" (bot.telegram.buttons
# parses them; bot.telegram.charts answers 📈).
NOTICE_DELETE, NOTICE_REARM, NOTICE_SNOOZE, NOTICE_CHART = "ndel:", "narm:", "nsnz:", "nchart:"


def render_fired(alert: FiredAlert, lang: str, zone: str | None = None) -> str:
    if alert.liquidation is not None:  # a /liq step (docs/futures.md)
        return FuturesTexts(lang).liq_warning(alert.id, alert.symbol, alert.price, alert.liquidation, alert.level)
    if alert.source is not PriceSource.LAST:  # mark, index, funding, a funding reminder (docs/futures.md)
        return FuturesTexts(lang, chat_zone(zone)).mark_fired(alert.id, alert.symbol, alert.source, alert.direction, alert.level,
                                             alert.price, alert.last_price, alert.note, repeats=alert.repeats)
    if alert.touched is not None:  # a wick between two checks
        return Texts(lang).alert_touched(alert.id, alert.symbol, alert.level, alert.touched, alert.price, alert.note,
                                         repeats=alert.repeats)
    if alert.window_seconds is not None and alert.move is not None and alert.reference is not None:
        return Texts(lang).move_fired(alert.id, alert.symbol, alert.window_seconds, alert.price, alert.reference,
                                      alert.move, alert.note, repeats=alert.repeats)
    return Texts(lang).alert_fired(alert.id, alert.symbol, alert.direction, alert.level, alert.price, alert.note,
                                   repeats=alert.repeats)


def render_ended(ended: EndedAlerts, lang: str) -> str:
    return Texts(lang).symbol_ended(ended.symbol, ended.ids)


def render_expired(alert: ExpiredAlert, lang: str, zone: str | None = None) -> str:
    return Texts(lang).alert_expired(alert.id, alert.symbol, alert.direction, alert.level, alert.note,
                                     fired=alert.fired, window_seconds=alert.window_seconds)


class Notices:
    """The words a tick records (bot.alerts.tick.Notices), one method per kind of notice."""

    fired = staticmethod(render_fired)
    expired = staticmethod(render_expired)
    ended = staticmethod(render_ended)


def notification_keyboard(messages: Sequence[PendingMessage]) -> list[list[dict[str, str]]]:
    """Snooze / Re-arm / Delete for each alert a notification is about, then its 📈 buttons: the rows
    of Telegram's InlineKeyboardMarkup as the Bot API takes them in JSON (the sender posts them as
    they are: python-telegram-bot's button objects cost more CPU than the rest of a paid send)."""
    t = Texts(messages[0].language) if messages else Texts()
    rows: list[list[dict[str, str]]] = []
    several = len([m for m in messages if m.kind is not MessageKind.EXPIRED]) > 1
    charts = [m.alert_id for m in messages if m.alert_id is not None and m.kind is not MessageKind.EXPIRED]
    for message in messages:
        if message.kind is MessageKind.EXPIRED or message.alert_id is None:
            continue
        tag = f" #{message.alert_id}" if several else ""
        row = [_button(t.snooze_button() + tag, f"{NOTICE_SNOOZE}{message.alert_id}")]
        if message.kind is MessageKind.FIRED:
            row.append(_button(t.rearm_button() + tag, f"{NOTICE_REARM}{message.alert_id}"))
        row.append(_button(t.delete_label() + tag, f"{NOTICE_DELETE}{message.alert_id}"))
        rows.append(row)
    for start in range(0, len(charts), 3):  # one 📈 per alert, three to a row
        rows.append([_button(t.chart_button() + (f" #{alert_id}" if len(charts) > 1 else ""),
                             f"{NOTICE_CHART}{alert_id}") for alert_id in charts[start:start + 3]])
    return rows


def _button(text: str, callback_data: str) -> dict[str, str]:
    """An InlineKeyboardButton in the Bot API's JSON."""
    return {"text": text, "callback_data": callback_data}
