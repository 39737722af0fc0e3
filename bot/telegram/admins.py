"""Who may change alerts in a group: its administrators, asked of Telegram and cached briefly."""

from __future__ import annotations

import logging
import time

from telegram import Bot, Chat, ChatMember, Update
from telegram.error import TelegramError

log = logging.getLogger(__name__)

CACHE_SECONDS = 300.0  # a demoted admin keeps rights at most this long
MAX_ENTRIES = 10_000  # (group, user) answers kept at once, about 200 bytes each: 2 MB at most
_ADMIN = {ChatMember.ADMINISTRATOR, ChatMember.OWNER}


class AdminCheck:
    def __init__(self, bot: Bot, ttl: float = CACHE_SECONDS, max_entries: int = MAX_ENTRIES) -> None:
        self._bot = bot
        self._ttl = ttl
        self._max = max_entries
        self._cache: dict[tuple[int, int], tuple[bool, float]] = {}

    async def may_change(self, update: Update) -> bool:
        """Anyone in a private chat; in a group, its admins (and the group itself, posting anonymously)."""
        chat = update.effective_chat
        if chat is None or chat.type == Chat.PRIVATE:
            return True
        message = update.effective_message
        if message is not None and message.sender_chat is not None and message.sender_chat.id == chat.id:
            return True  # an anonymous admin
        user = update.effective_user
        if user is None:
            return False
        key, now = (chat.id, user.id), time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and now - cached[1] < self._ttl:
            return cached[0]
        try:
            member = await self._bot.get_chat_member(chat.id, user.id)
        except TelegramError as exc:  # the network, or a sender Telegram will not look up (a linked channel)
            log.warning("cannot ask Telegram whether user %d administers chat %d: %s; treated as not allowed",
                        user.id, chat.id, exc)
            return False  # nothing cached: the next try asks again
        allowed = member.status in _ADMIN
        if len(self._cache) >= self._max:  # drop the expired answers, then the oldest: never more than max
            self._cache = {k: v for k, v in self._cache.items() if now - v[1] < self._ttl}
            while len(self._cache) >= self._max:
                del self._cache[next(iter(self._cache))]
        self._cache.pop(key, None)  # re-inserted last: insertion order is age order
        self._cache[key] = (allowed, now)
        return allowed
