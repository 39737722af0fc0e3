"""ALLOWED_CHAT_IDS as this process sees it: the setting, plus the supergroups allowed groups became.

A group upgraded to a supergroup gets a new id that the setting does not list. Its alerts move
there (AlertService.migrate_chat, the outbox sender); so that the group keeps being answered,
the new id is allowed for the rest of this process's life, and a WARNING names it: add it to
ALLOWED_CHAT_IDS, or the next start pauses its alerts as those of a stranger.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)


class AllowedChats:
    """A small mutable set; empty means no allowlist (every chat is served, nothing is followed)."""

    def __init__(self, chat_ids: Iterable[int]) -> None:
        self._ids = set(chat_ids)

    def __contains__(self, chat_id: object) -> bool:
        return chat_id in self._ids

    def __bool__(self) -> bool:
        return bool(self._ids)

    def follow(self, old_id: int, new_id: int) -> None:
        """Called on every migration; idempotent, as Telegram reports one upgrade up to three times."""
        if old_id not in self._ids or new_id in self._ids:
            return
        self._ids.add(new_id)
        log.warning("allowed chat %d became supergroup %d: served until restart; add %d to ALLOWED_CHAT_IDS",
                    old_id, new_id, new_id)
