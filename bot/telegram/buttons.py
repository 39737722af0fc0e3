"""Inline buttons: what their callback data says, and the keyboards under answers (bot.notify.notices
builds the ones under notifications)."""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.notify.notices import NOTICE_CHART, NOTICE_DELETE, NOTICE_REARM, NOTICE_SNOOZE
from bot.texts import Texts

# Callback data, at most 64 bytes: "<action><alert id>[:<page>]". Under /alerts:
DELETE, REARM, PAGE = "del:", "arm:", "page:"
# Under /language: "lang:<index in bot.i18n.LANGUAGES>"
LANGUAGE = "lang:"
# Under a notification (bot.notify.notices builds those keyboards): NOTICE_DELETE, NOTICE_REARM, NOTICE_SNOOZE.
ACTIONS = (DELETE, REARM, PAGE, LANGUAGE, NOTICE_DELETE, NOTICE_REARM, NOTICE_SNOOZE)
BUTTONS = re.compile("^(" + "|".join(ACTIONS) + ")")  # the guide's own buttons are not ours
# 📈 buttons (bot.telegram.charts handles them): NOTICE_CHART under a notification,
# "chart:<symbol>" under a /price answer.
SYMBOL_CHART = "chart:"
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


def symbol_chart_keyboard(t: Texts, symbol: str) -> InlineKeyboardMarkup | None:
    """📈 under a /price answer; none when the symbol would not fit Telegram's 64 bytes of data."""
    data = f"{SYMBOL_CHART}{symbol}"
    if len(data.encode()) > 64:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(t.chart_button(), callback_data=data)]])
