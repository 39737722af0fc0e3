"""Inline buttons: what their callback data says, and the keyboards under notifications."""

from __future__ import annotations

import re
from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.texts import Texts
from bot.storage.models import MessageKind
from bot.storage.store import PendingMessage

# Callback data, at most 64 bytes: "<action><alert id>[:<page>]". Under /alerts:
DELETE, REARM, PAGE = "del:", "arm:", "page:"
# Under /language: "lang:<index in bot.i18n.LANGUAGES>"
LANGUAGE = "lang:"
# Under a notification:
NOTICE_DELETE, NOTICE_REARM, NOTICE_SNOOZE = "ndel:", "narm:", "nsnz:"
ACTIONS = (DELETE, REARM, PAGE, LANGUAGE, NOTICE_DELETE, NOTICE_REARM, NOTICE_SNOOZE)
BUTTONS = re.compile("^(" + "|".join(ACTIONS) + ")")  # the guide's own buttons are not ours
# 📈 buttons (bot.telegram.charts handles them): "nchart:<alert id>" under a notification,
# "chart:<symbol>" under a /price answer.
NOTICE_CHART, SYMBOL_CHART = "nchart:", "chart:"
CHART_BUTTONS = re.compile(f"^({NOTICE_CHART}|{SYMBOL_CHART})")


def parse_button(data: str) -> tuple[str | None, int, int]:
    """(action, alert id, page); action None when the data is not ours (forged or from an old version)."""
    for action in ACTIONS:
        if data.startswith(action):
            numbers = data[len(action):].split(":")
            if 1 <= len(numbers) <= 2 and all(n.isdigit() and n.isascii() and len(n) < 19 for n in numbers):
                values = [int(n) for n in numbers]
                if action in (PAGE, LANGUAGE):
                    return action, 0, values[0]
                return action, values[0], values[1] if len(values) == 2 else 0
    return None, 0, 0


def notification_keyboard(messages: Sequence[PendingMessage]) -> InlineKeyboardMarkup | None:
    """Snooze / Re-arm / Delete for each alert a notification is about."""
    t = Texts(messages[0].language) if messages else Texts()
    rows = []
    several = len([m for m in messages if m.kind is not MessageKind.EXPIRED]) > 1
    charts = [m.alert_id for m in messages if m.alert_id is not None and m.kind is not MessageKind.EXPIRED]
    for message in messages:
        if message.kind is MessageKind.EXPIRED or message.alert_id is None:
            continue
        tag = f" #{message.alert_id}" if several else ""
        row = [InlineKeyboardButton(t.snooze_button() + tag, callback_data=f"{NOTICE_SNOOZE}{message.alert_id}")]
        if message.kind is MessageKind.FIRED:
            row.append(InlineKeyboardButton(t.rearm_button() + tag, callback_data=f"{NOTICE_REARM}{message.alert_id}"))
        row.append(InlineKeyboardButton(t.delete_label() + tag, callback_data=f"{NOTICE_DELETE}{message.alert_id}"))
        rows.append(row)
    for start in range(0, len(charts), 3):  # one 📈 per alert, three to a row
        rows.append([InlineKeyboardButton(t.chart_button() + (f" #{alert_id}" if len(charts) > 1 else ""),
                                          callback_data=f"{NOTICE_CHART}{alert_id}")
                     for alert_id in charts[start:start + 3]])
    return InlineKeyboardMarkup(rows) if rows else None


def symbol_chart_keyboard(t: Texts, symbol: str) -> InlineKeyboardMarkup | None:
    """📈 under a /price answer; none when the symbol would not fit Telegram's 64 bytes of data."""
    data = f"{SYMBOL_CHART}{symbol}"
    if len(data.encode()) > 64:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(t.chart_button(), callback_data=data)]])
