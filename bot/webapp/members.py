"""Who a user is in a group the Mini App was opened for: admin, member, or neither.

Asked of Telegram (getChatMember) and cached briefly, as bot.telegram.admins does for commands.
"""

from __future__ import annotations

import logging
import time
from typing import Literal

from telegram import Bot, ChatMember
from telegram.error import TelegramError

log = logging.getLogger(__name__)

Role = Literal["admin", "member"]
CACHE_SECONDS = 300.0  # a demoted admin keeps rights at most this long, as in chat
MAX_ENTRIES = 10_000
_ADMIN = {ChatMember.ADMINISTRATOR, ChatMember.OWNER}


def role_of(member: ChatMember) -> Role | None:
    """A restricted user is a member only while `is_member` says so: one who left keeps the status."""
    if member.status in _ADMIN:
        return "admin"
    if member.status == ChatMember.MEMBER:
        return "member"
    if member.status == ChatMember.RESTRICTED and getattr(member, "is_member", False):
        return "member"
    return None


class ChatRoles:
    def __init__(self, bot: Bot, ttl: float = CACHE_SECONDS) -> None:
        self._bot = bot
        self._ttl = ttl
        self._cache: dict[tuple[int, int], tuple[Role | None, float]] = {}

    async def role(self, chat_id: int, user_id: int) -> Role | None:
        key, now = (chat_id, user_id), time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and now - cached[1] < self._ttl:
            return cached[0]
        try:
            member = await self._bot.get_chat_member(chat_id, user_id)
        except TelegramError as exc:
            log.warning("cannot ask Telegram about user %d in chat %d: %s; treated as not a member",
                        user_id, chat_id, exc)
            return None
        role = role_of(member)
        if len(self._cache) >= MAX_ENTRIES:
            self._cache.clear()
        self._cache[key] = (role, now)
        return role
