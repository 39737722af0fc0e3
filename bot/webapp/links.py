"""How a chat opens the Mini App: the menu button, and an "Open chart" button under messages.

Telegram allows `web_app` buttons in private chats only (a group gets BUTTON_TYPE_INVALID);
a group gets a url button to t.me/<bot>/<short name>?startapp=<token>, the token signed by the
bot and naming the group (bot.webapp.auth), when the app's short name is set; else no button.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, MenuButtonWebApp, WebAppInfo
from telegram.error import TelegramError

from bot.texts.webapp import WebAppTexts
from bot.webapp.auth import sign_start_token

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AppLinks:
    url: str  # WEBAPP_URL, ending in "/"
    short_name: str  # WEBAPP_SHORT_NAME; empty: groups get no button
    bot_token: str
    bot_username: Callable[[], str] = lambda: ""  # known once the bot has asked getMe (Application.initialize)

    def button(self, text: str, chat_id: int, symbol: str | None = None) -> InlineKeyboardButton | None:
        """"Open chart" for this chat, on `symbol` if given; None where Telegram allows none."""
        if chat_id > 0:
            url = self.url + (f"?symbol={quote(symbol)}" if symbol else "")
            return InlineKeyboardButton(text, web_app=WebAppInfo(url))
        username = self.bot_username()
        if not self.short_name or not username:
            return None
        token = sign_start_token(chat_id, self.bot_token)
        return InlineKeyboardButton(text, url=f"https://t.me/{username}/{self.short_name}?startapp={token}")


async def set_menu_button(bot: Bot, url: str, text: str) -> None:
    """Every private chat's menu button opens the app (setChatMenuButton without chat_id)."""
    try:
        await bot.set_chat_menu_button(menu_button=MenuButtonWebApp(text, WebAppInfo(url)))
    except TelegramError as exc:  # the app still opens from the buttons; say why the menu did not change
        log.warning("cannot set the Mini App menu button: %s", exc)


def open_chart_button(links: AppLinks | None, lang: str, chat_id: int,
                      symbol: str | None = None) -> InlineKeyboardButton | None:
    """The "Open chart" button for this chat, in its language; None where it may have none."""
    return links.button(WebAppTexts(lang).open_chart_button(), chat_id, symbol) if links is not None else None


def with_app_button(markup: InlineKeyboardMarkup | None, links: AppLinks | None, lang: str, chat_id: int,
                    symbol: str | None = None) -> InlineKeyboardMarkup | None:
    """`markup` with an "Open chart" row at its end, where this chat may have one."""
    button = open_chart_button(links, lang, chat_id, symbol)
    if button is None:
        return markup
    rows = [list(row) for row in markup.inline_keyboard] if markup is not None else []
    return InlineKeyboardMarkup([*rows, [button]])
