"""The guide's steps in the database: one per (chat, user), moved on once, taken once, expiring."""

from __future__ import annotations

from datetime import timedelta

from bot.storage.base import utcnow
from bot.storage.store import AlertStore


async def test_a_step_moves_on_once_and_is_taken_once(store: AlertStore) -> None:
    since = utcnow() - timedelta(minutes=10)
    await store.start_guide(-100, 7, "symbol", since=since)
    await store.start_guide(-100, 8, "symbol", since=since)  # another member of the same group
    await store.set_guide_prompt(-100, 7, 555)
    step = await store.guide_step(-100, 7, since)
    assert step is not None and (step.step, step.prompt_message_id) == ("symbol", 555)
    assert await store.advance_guide(-100, 7, "symbol", since, step="level", symbol="BTCUSDT")
    assert not await store.advance_guide(-100, 7, "symbol", since, step="level", symbol="ETHUSDT")  # a double tap
    assert await store.advance_guide(-100, 7, "level", since, step="confirm", answer='["BTCUSDT", "70000"]')
    assert await store.take_guide(-100, 7, "level", since) is None  # not at that step
    taken = await store.take_guide(-100, 7, "confirm", since)
    assert taken is not None and (taken.symbol, taken.answer) == ("BTCUSDT", '["BTCUSDT", "70000"]')
    assert await store.take_guide(-100, 7, "confirm", since) is None
    assert (await store.guide_step(-100, 8, since)).step == "symbol"  # type: ignore[union-attr]


async def test_an_old_step_counts_as_abandoned_and_is_dropped(store: AlertStore) -> None:
    await store.start_guide(1, 1, "level", symbol="BTCUSDT")
    later = utcnow() + timedelta(seconds=1)  # as if the step were older than the time limit
    assert await store.guide_step(1, 1, later) is None
    assert not await store.advance_guide(1, 1, "level", later, step="confirm")
    assert not await store.end_guide(1, 1, later)  # /cancel of an expired guide: nothing to cancel
    await store.start_guide(1, 1, "symbol")
    await store.start_guide(2, 2, "symbol", since=later)  # a new guide drops everyone's abandoned ones
    assert await store.guide_step(1, 1, utcnow() - timedelta(minutes=10)) is None
    assert await store.end_guide(2, 2, utcnow() - timedelta(minutes=10))
