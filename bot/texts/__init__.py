"""Every text the bot sends, in Telegram's HTML, in the chat's language.

English is written here, one module for each thing the bot speaks about; translations live in
the gettext catalog bot/locales/<lang> (`pybabel extract ... bot/texts`, README "Languages").
Every value a user typed goes through `escape`; translated templates are filled with `.format`.
"""

from __future__ import annotations

from bot.texts.alerts import AlertTexts
from bot.texts.backup import BackupTexts
from bot.texts.base import COMMANDS, ENDED_MARK, USAGE, AlertLike, duration, moment, price
from bot.texts.buttons import ButtonTexts
from bot.texts.chats import ChatTexts
from bot.texts.errors import ErrorTexts
from bot.texts.prices import PriceTexts
from bot.texts.topics import TopicTexts

__all__ = ["COMMANDS", "ENDED_MARK", "USAGE", "AlertLike", "Texts", "duration", "moment", "price"]


class Texts(AlertTexts, ButtonTexts, PriceTexts, ChatTexts, BackupTexts, ErrorTexts, TopicTexts):
    """The texts in one language: `Texts("zh").start()`."""
