"""One chat cannot starve the others: at most N commands and button presses per chat per minute.

`CommandLimiter` (bot.limits) is the rule, pure and clock-driven, shared with the Mini App's API; `flood_guard` applies it to every update
before any other handler (group -1), like the ALLOWED_CHAT_IDS guard. A chat over its limit gets
one polite answer; everything else it sends before its minute is over is dropped unanswered, so
a burst costs us one message instead of one per command (Telegram's own flood limits apply to
our answers, which would otherwise delay every other chat).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.limits import CommandLimiter, Verdict

log = logging.getLogger(__name__)

def counts(update: Update) -> bool:
    """Commands, typed answers and button presses count; service messages (a group upgraded to a
    supergroup, members joining) never do: they must not be lost."""
    if update.callback_query is not None:
        return True
    message = update.message or update.edited_message
    return message is not None and bool(message.text or message.caption)


def flood_guard(limiter: CommandLimiter, exempt: frozenset[int],
                texts: Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[object]],
                ) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]:
    """A TypeHandler callback for group -1: stops the update when its chat is over the limit.

    `texts` gives the chat's Texts (handlers.texts_for), asked only for the one answer.
    """

    async def guard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat, user = update.effective_chat, update.effective_user
        if chat is None or not counts(update) or (user is not None and user.id in exempt):
            return
        verdict = limiter.check(chat.id)
        if verdict is Verdict.PASS:
            return
        if verdict is Verdict.WARN:
            log.info("chat %d sent more than the limit of commands in a minute; ignoring it for the rest of it",
                     chat.id)
            t = await texts(update, context)
            if update.callback_query is not None:
                await update.callback_query.answer(t.slow_down_short())  # type: ignore[attr-defined]
            elif update.effective_message is not None:
                await update.effective_message.reply_html(t.slow_down())  # type: ignore[attr-defined]
        raise ApplicationHandlerStop

    return guard
