"""One chat cannot starve the others: at most N commands and button presses per chat per minute.

`CommandLimiter` is the rule, pure and clock-driven; `flood_guard` applies it to every update
before any other handler (group -1), like the ALLOWED_CHAT_IDS guard. A chat over its limit gets
one polite answer; everything else it sends before its minute is over is dropped unanswered, so
a burst costs us one message instead of one per command (Telegram's own flood limits apply to
our answers, which would otherwise delay every other chat).
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

log = logging.getLogger(__name__)

WINDOW = 60.0  # seconds
MAX_TRACKED = 100_000  # chats remembered at once; each costs about 150 bytes


class Verdict(enum.Enum):
    PASS = "pass"
    WARN = "warn"  # the first one over the limit: answer "slow down" once
    DROP = "drop"


@dataclass
class _Window:
    started: float
    count: int = 0
    warned: bool = False


class CommandLimiter:
    """A fixed one-minute window per chat, starting at its first command.

    Memory is bounded: a window is forgotten once its minute is over, and at most `max_tracked`
    chats are remembered (the oldest windows go first when a flood of new chats arrives).
    """

    def __init__(self, per_minute: int, *, window: float = WINDOW, max_tracked: int = MAX_TRACKED,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = per_minute
        self._window = window
        self._max = max_tracked
        self._clock = clock
        self._chats: dict[int, _Window] = {}  # insertion order is window start order

    def __len__(self) -> int:
        return len(self._chats)

    def check(self, chat_id: int) -> Verdict:
        now = self._clock()
        entry = self._chats.get(chat_id)
        if entry is None or now - entry.started >= self._window:
            if entry is not None:
                del self._chats[chat_id]  # re-inserted last: the order stays by window start
            elif len(self._chats) >= self._max:
                self._forget(now)
            entry = self._chats[chat_id] = _Window(now)
        entry.count += 1
        if entry.count <= self._limit:
            return Verdict.PASS
        if not entry.warned:
            entry.warned = True
            return Verdict.WARN
        return Verdict.DROP

    def _forget(self, now: float) -> None:
        """Drops windows that are over; if none is, the oldest ones, to stay under the cap."""
        for chat_id, entry in list(self._chats.items()):
            if now - entry.started < self._window and len(self._chats) < self._max:
                break
            del self._chats[chat_id]


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
