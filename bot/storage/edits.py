"""Moving one alert's level in place (`/edit`, the ✏️ button, the Mini App): same row, same id."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import update

from bot.crossing import Direction
from bot.storage.base import LIVE, StoreBase, utcnow
from bot.storage.models import Alert, AlertState


class EditQueries(StoreBase):
    async def move_alert(self, chat_id: int, alert_id: int, seen: AlertState, *, direction: Direction,
                         level: Decimal, rearm_level: Decimal | None, passed: bool, note: str | None) -> Alert | None:
        """Writes the new direction and level (bot.alerts.editing decided them) on the chat's alert if it is still in the state `seen` when it was read
        (else None: it fired, was deleted or paused meanwhile, and the caller decides again).

        Repeat and expiry stay; a cooldown or snooze ends (the alert is armed as a new one
        would be); a paused alert stays paused and gives back ACTIVE or ARMING on /resume,
        which decides again from the price then."""
        armed = AlertState.ARMING if passed else AlertState.ACTIVE
        values: dict[str, object] = {
            "direction": direction, "level": level, "rearm_level": rearm_level, "rearm_after": None,
        }
        if seen is AlertState.PAUSED:
            values["paused_from"] = armed
        else:
            values.update(state=armed, armed_at=None if passed else utcnow())
        if note is not None:
            values["note"] = note
        async with self._write() as session:
            query = (
                update(Alert)
                .where(Alert.id == alert_id, Alert.chat_id == chat_id, Alert.state == seen)
                .values(**values)
                .returning(Alert)
            )
            changed = (await session.scalars(query)).one_or_none()
            await session.commit()
            return changed

    async def set_note(self, chat_id: int, alert_id: int, note: str) -> Alert | None:
        """Only the note of one of the chat's live alerts changes; None when it has no such alert."""
        async with self._write() as session:
            query = (update(Alert).where(Alert.id == alert_id, Alert.chat_id == chat_id, Alert.state.in_(LIVE))
                     .values(note=note).returning(Alert))
            changed = (await session.scalars(query)).one_or_none()
            await session.commit()
            return changed
