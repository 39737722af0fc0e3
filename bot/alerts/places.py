"""Where and when a chat reads its alerts (issue 25): its time zone, quiet hours and forum topic
names, for the handlers. Storage below, no Telegram."""

from __future__ import annotations

import time
from zoneinfo import ZoneInfo

from bot.alerts.hours import QuietHours, quiet_hours, zone
from bot.storage.store import AlertStore

ZONE_CACHE_SECONDS = 60.0  # a replica learns another replica's /timezone within this
MAX_CACHED_ZONES = 50_000


class ChatPlaces:
    """Mixed into AlertService: every command asks the chat's zone, so it is cached like the language."""

    _store: AlertStore
    _zone_cache: dict[int, tuple[str | None, float]] | None = None  # chat -> (zone name, monotonic time read)

    def _zones(self) -> dict[int, tuple[str | None, float]]:
        if self._zone_cache is None:
            self._zone_cache = {}
        return self._zone_cache

    async def zone_name(self, chat_id: int) -> str | None:
        """The chat's IANA zone, None for UTC (the default)."""
        cached = self._zones().get(chat_id)
        if cached is not None and time.monotonic() - cached[1] < ZONE_CACHE_SECONDS:
            return cached[0]
        name, _ = await self._store.chat_hours(chat_id)
        self._remember_zone(chat_id, name)
        return name

    async def zone(self, chat_id: int) -> ZoneInfo:
        return zone(await self.zone_name(chat_id))

    async def set_timezone(self, chat_id: int, name: str) -> None:
        await self._store.set_timezone(chat_id, name)
        self._remember_zone(chat_id, name)

    def _remember_zone(self, chat_id: int, name: str | None) -> None:
        zones = self._zones()
        if len(zones) >= MAX_CACHED_ZONES:
            zones.clear()
        zones[chat_id] = (name, time.monotonic())

    async def quiet_hours(self, chat_id: int) -> QuietHours | None:
        return quiet_hours(*(await self._store.chat_hours(chat_id))[1])

    async def set_quiet(self, chat_id: int, hours: QuietHours | None) -> int:
        """Sets or ends quiet hours; messages held for a digest are released (see AlertStore.set_quiet)."""
        if hours is None:
            return await self._store.set_quiet(chat_id, None, None, False)
        return await self._store.set_quiet(chat_id, hours.start, hours.end, hours.digest)

    async def topic_names(self, chat_id: int) -> dict[int, str]:
        return await self._store.topic_names(chat_id)

    async def remember_topic(self, chat_id: int, thread_id: int, name: str, *, latest: bool) -> None:
        """`latest`: the topic was created or renamed (the name wins); else a message in it told
        the name it was created with (kept only for a topic not yet known)."""
        await self._store.remember_topic(chat_id, thread_id, name, latest=latest)
