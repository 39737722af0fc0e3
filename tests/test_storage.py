"""The database decides which alerts fire; it must agree with the rule, exactly, on every backend."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.alerts.rules import Direction, crossed
from bot.storage.models import OutboxMessage, OutboxState
from bot.storage.store import AlertStore, FiredAlert


def render(alert: FiredAlert, lang: str, zone: str | None = None) -> str:
    return f"{alert.symbol} {alert.price}"


@pytest.mark.parametrize("level", ["0.0000000001", "99999999.9999999999", "0.1", "65000.10"])
async def test_levels_come_back_exactly(store: AlertStore, level: str) -> None:
    created = await store.create_alert(1, "BTCUSDT", Direction.UP, Decimal(level), "")
    [listed] = await store.list_active(1)
    assert listed.id == created.id and listed.level == Decimal(level)


async def test_price_equal_to_level_fires_and_a_hair_below_does_not(store: AlertStore) -> None:
    await store.create_alert(1, "PEPEUSDT", Direction.UP, Decimal("0.0000100001"), "")
    assert await store.fire_crossed({"PEPEUSDT": Decimal("0.0000100000")}, render) == []
    [fired] = await store.fire_crossed({"PEPEUSDT": Decimal("0.0000100001")}, render)
    assert fired.price == fired.level == Decimal("0.0000100001")


async def test_database_fires_exactly_what_the_rule_says(store: AlertStore) -> None:
    rng = random.Random(7)
    symbols = ["BTCUSDT", "ETHUSDT", "1000PEPEUSDT", "币安人生USDT", "BTCUSDT_261225"]
    alerts = {}
    for _ in range(300):
        symbol = rng.choice(symbols)
        direction = rng.choice(list(Direction))  # move alerts (EITHER) must never fire on a price
        level = Decimal(rng.randint(1, 2000)) / 100
        window = 900 if direction is Direction.EITHER else None
        created = await store.create_alert(rng.randint(1, 5), symbol, direction, level, "", window_seconds=window)
        alerts[created.id] = created
    for _ in range(5):
        prices = {s: Decimal(rng.randint(1, 2000)) / 100 for s in symbols if rng.random() < 0.8}
        expected = {
            a.id for a in alerts.values()
            if a.symbol in prices and a.direction is not Direction.EITHER and crossed(a.direction, a.level, prices[a.symbol])
        }
        fired = await store.fire_crossed(prices, render)
        assert {f.id for f in fired} == expected
        for alert_id in expected:
            del alerts[alert_id]


async def test_firing_records_one_pending_message_per_alert_and_never_fires_twice(store: AlertStore) -> None:
    first = await store.create_alert(10, "BTCUSDT", Direction.DOWN, Decimal("60000"), "")
    await store.create_alert(11, "BTCUSDT", Direction.DOWN, Decimal("50000"), "")
    fired = await store.fire_crossed({"BTCUSDT": Decimal("59999.9")}, render)
    assert [f.id for f in fired] == [first.id]
    assert await store.fire_crossed({"BTCUSDT": Decimal("59000")}, render) == []
    [pending] = await store.pending_messages()
    assert (pending.chat_id, pending.text) == (10, "BTCUSDT 59999.9")
    await store.mark_sent([pending.id], telegram_message_id=555)
    assert await store.pending_messages() == []
    async with store._sessions() as session:
        row = (await session.scalars(select(OutboxMessage))).one()
    assert (row.state, row.telegram_message_id, row.alert_id) == (OutboxState.SENT, 555, first.id)


async def test_a_chat_deletes_only_its_own_alerts(store: AlertStore) -> None:
    mine = await store.create_alert(1, "BTCUSDT", Direction.UP, Decimal("1"), "")
    assert await store.delete_alert(2, mine.id) is None
    assert [a.id for a in await store.list_active(1)] == [mine.id]
    deleted = await store.delete_alert(1, mine.id)
    assert deleted is not None and deleted.symbol == "BTCUSDT"
    assert await store.delete_alert(1, mine.id) is None  # twice: already gone
    assert not await store.has_active_alerts()
    assert await store.fire_crossed({"BTCUSDT": Decimal("2")}, render) == []


async def test_prices_the_database_cannot_hold_exactly_are_ignored(store: AlertStore) -> None:
    await store.create_alert(1, "BTCUSDT", Direction.UP, Decimal("1"), "")
    assert await store.fire_crossed({"BTCUSDT": Decimal("1.00000000001")}, render) == []
    assert len(await store.fire_crossed({"BTCUSDT": Decimal("1.5"), "X": Decimal("1e9")}, render)) == 1


async def test_sqlite_runs_in_wal_mode(database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("WAL is SQLite's")
    from sqlalchemy import text

    from bot.storage.db import make_engine

    engine = make_engine(database_url)
    async with engine.connect() as connection:
        assert (await connection.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
    await engine.dispose()


async def _make_due(store: AlertStore, alert_id: int, **columns: object) -> None:
    """Moves an alert's clock: sets rearm_after/expires_at in the past, as time would."""
    from sqlalchemy import update as sql_update

    from bot.storage.models import Alert

    async with store._sessions() as session:
        await session.execute(sql_update(Alert).where(Alert.id == alert_id).values(**columns))
        await session.commit()


async def _state(store: AlertStore, alert_id: int) -> str:
    from bot.storage.models import Alert

    async with store._sessions() as session:
        return (await session.get(Alert, alert_id)).state.value


async def test_a_repeating_alert_re_arms_after_the_price_went_back_and_the_cooldown(store: AlertStore) -> None:
    from datetime import timedelta

    from bot.storage.store import utcnow

    alert = await store.create_alert(1, "BTCUSDT", Direction.UP, Decimal("70000"), "", repeat_seconds=3600,
                                     rearm_level=Decimal("69650"))
    [fired] = await store.fire_crossed({"BTCUSDT": Decimal("70001")}, render)
    assert fired.repeats and await _state(store, alert.id) == "waiting"
    assert await store.fire_crossed({"BTCUSDT": Decimal("70100")}, render) == []  # no flapping
    await store.start_cooldowns({"BTCUSDT": Decimal("69700")})  # back, but not past the margin
    assert await _state(store, alert.id) == "waiting"
    await store.start_cooldowns({"BTCUSDT": Decimal("69650")})
    assert await _state(store, alert.id) == "cooling"
    await store.end_cooldowns()  # cooldown not over: stays quiet
    assert await store.fire_crossed({"BTCUSDT": Decimal("70500")}, render) == []
    await _make_due(store, alert.id, rearm_after=utcnow() - timedelta(seconds=1))
    await store.end_cooldowns()
    assert await _state(store, alert.id) == "active"
    assert len(await store.fire_crossed({"BTCUSDT": Decimal("70500")}, render)) == 1


async def test_alerts_expire_and_their_chats_are_told(store: AlertStore) -> None:
    from datetime import timedelta

    from bot.storage.store import utcnow

    soon = await store.create_alert(1, "BTCUSDT", Direction.UP, Decimal("90000"), "n", expires_at=utcnow() + timedelta(hours=1))
    later = await store.create_alert(1, "BTCUSDT", Direction.UP, Decimal("91000"), "", expires_at=utcnow() + timedelta(days=1))
    assert await store.expire_due(lambda a, *_: f"expired {a.id}") == []
    await _make_due(store, soon.id, expires_at=utcnow() - timedelta(seconds=1))
    [expired] = await store.expire_due(lambda a, *_: f"expired {a.id}")
    assert (expired.id, expired.fired, expired.note) == (soon.id, False, "n")
    assert [m.text for m in await store.pending_messages()] == [f"expired {soon.id}"]
    assert [a.id for a in await store.list_active(1)] == [later.id]
    assert await store.expire_due(lambda a, *_: "again") == []  # once


async def test_snooze_rearm_and_delete_act_only_on_the_chats_own_alert(store: AlertStore) -> None:
    from datetime import timedelta

    from bot.storage.store import utcnow

    alert = await store.create_alert(1, "BTCUSDT", Direction.UP, Decimal("70000"), "")
    await store.fire_crossed({"BTCUSDT": Decimal("70000")}, render)
    assert [a.id for a in await store.list_recently_fired(1)] == [alert.id]
    assert await store.rearm_alert(2, alert.id) is None and await store.snooze_alert(2, alert.id, utcnow()) is None
    assert await store.delete_alert(2, alert.id) is None
    assert (await store.rearm_alert(1, alert.id)).state.value == "active"
    assert await store.rearm_alert(1, alert.id) is None  # only fired ones re-arm
    snoozed = await store.snooze_alert(1, alert.id, utcnow() + timedelta(hours=1))
    assert snoozed.state.value == "cooling"
    assert await store.fire_crossed({"BTCUSDT": Decimal("71000")}, render) == []
    assert (await store.delete_alert(1, alert.id)).state.value == "deleted"
    assert await store.snooze_alert(1, alert.id, utcnow()) is None


async def test_move_alerts_fire_on_their_own_window_and_size(store: AlertStore) -> None:
    small = await store.create_alert(1, "BTCUSDT", Direction.EITHER, Decimal("2"), "", window_seconds=900)
    large = await store.create_alert(1, "BTCUSDT", Direction.EITHER, Decimal("5"), "", window_seconds=900)
    other = await store.create_alert(2, "BTCUSDT", Direction.EITHER, Decimal("2"), "", window_seconds=60)
    assert sorted(await store.watched_windows()) == [("BTCUSDT", 60), ("BTCUSDT", 900)]
    price = {"BTCUSDT": Decimal("103")}
    fired = await store.fire_moves({("BTCUSDT", 900): (Decimal("3"), Decimal("100"))}, price, render)
    assert [(f.id, f.move, f.reference) for f in fired] == [(small.id, Decimal("3"), Decimal("100"))]
    assert await store.fire_crossed({"BTCUSDT": Decimal("1")}, render) == []  # never by a price level
    fired = await store.fire_moves({("BTCUSDT", 60): (Decimal("1.99999999999"), Decimal("100"))}, price, render)
    assert fired == []  # rounded down, never up
    assert [a.id for a in await store.list_active(1)] == [large.id]
    assert other.id in [a.id for a in await store.list_active(2)]


async def test_pause_stops_repeating_alerts_too(store: AlertStore) -> None:
    from datetime import timedelta

    from bot.storage.store import utcnow

    alert = await store.create_alert(1, "BTCUSDT", Direction.UP, Decimal("70000"), "", repeat_seconds=60,
                                     rearm_level=Decimal("69650"))
    await store.fire_crossed({"BTCUSDT": Decimal("70000")}, render)
    await store.start_cooldowns({"BTCUSDT": Decimal("69000")})
    assert await _state(store, alert.id) == "cooling"
    assert await store.pause_chat(1) == 1
    await _make_due(store, alert.id, rearm_after=utcnow() - timedelta(seconds=1))
    await store.end_cooldowns()  # a paused chat's cooldown ending does not wake the alert
    assert await store.fire_crossed({"BTCUSDT": Decimal("71000")}, render) == []
    resumed = await store.resume_chat(1, {"BTCUSDT": Decimal("71000")})
    # Its cooldown ended during the pause and the level was passed meanwhile: a new crossing first.
    assert [a.id for a in resumed.alerts] == [alert.id] and [a.id for a in resumed.waiting] == [alert.id]
    assert await store.fire_crossed({"BTCUSDT": Decimal("71000")}, render) == []
    await store.start_cooldowns({"BTCUSDT": Decimal("69600")})  # back past its margin: armed
    assert len(await store.fire_crossed({"BTCUSDT": Decimal("70000")}, render)) == 1


async def test_pause_and_resume_give_each_alert_its_state_and_times_back(store: AlertStore) -> None:
    """A repeat that fired and waits for the price to go back, a snooze and a cooldown: /pause
    then /resume changes none of them, so nothing fires that would not have fired anyway."""
    from datetime import timedelta

    from bot.storage.store import utcnow

    waiting = await store.create_alert(1, "BTCUSDT", Direction.UP, Decimal("70000"), "", repeat_seconds=60,
                                       rearm_level=Decimal("69650"))
    snoozed = await store.create_alert(1, "ETHUSDT", Direction.UP, Decimal("3000"), "")
    armed = await store.create_alert(1, "SOLUSDT", Direction.DOWN, Decimal("100"), "")
    await store.fire_crossed({"BTCUSDT": Decimal("70001")}, render)
    until = utcnow() + timedelta(hours=1)
    await store.snooze_alert(1, snoozed.id, until)
    assert await store.pause_chat(1) == 3
    assert await store.pause_chat(1) == 0  # nothing left to pause
    resumed = await store.resume_chat(1, {"BTCUSDT": Decimal("70002"), "ETHUSDT": Decimal("3100"),
                                          "SOLUSDT": Decimal("120")})
    assert len(resumed.alerts) == 3 and resumed.waiting == []
    assert await _state(store, waiting.id) == "waiting"  # still waits for the price to go back
    assert await _state(store, snoozed.id) == "cooling"
    assert (await store.get_alert(1, snoozed.id)).rearm_after == until
    assert await _state(store, armed.id) == "active"
    assert await store.fire_crossed({"BTCUSDT": Decimal("70003"), "ETHUSDT": Decimal("3100")}, render) == []


async def test_a_level_passed_during_a_pause_waits_for_a_new_crossing(store: AlertStore) -> None:
    alert = await store.create_alert(1, "BTCUSDT", Direction.UP, Decimal("70000"), "")
    await store.pause_chat(1)
    resumed = await store.resume_chat(1, {"BTCUSDT": Decimal("70500")})
    assert [a.id for a in resumed.waiting] == [alert.id]
    assert await store.fire_crossed({"BTCUSDT": Decimal("70500")}, render) == []
    await store.start_cooldowns({"BTCUSDT": Decimal("70000")})  # at the level is not back below it
    assert await store.fire_crossed({"BTCUSDT": Decimal("70000")}, render) == []
    await store.start_cooldowns({"BTCUSDT": Decimal("69999.9")})
    assert [a.id for a in await store.fire_crossed({"BTCUSDT": Decimal("70000")}, render)] == [alert.id]


async def test_without_prices_a_resumed_alert_arms_once_the_price_is_on_its_waiting_side(store: AlertStore) -> None:
    alert = await store.create_alert(1, "BTCUSDT", Direction.DOWN, Decimal("60000"), "")
    await store.pause_chat(1)
    resumed = await store.resume_chat(1, None)  # the exchange did not answer
    assert resumed.waiting == [] and await _state(store, alert.id) == "arming"
    await store.start_cooldowns({"BTCUSDT": Decimal("60001")})
    assert [a.id for a in await store.fire_crossed({"BTCUSDT": Decimal("59000")}, render)] == [alert.id]


async def test_a_block_and_a_pause_are_undone_by_their_own_commands(store: AlertStore) -> None:
    mine = await store.create_alert(1, "BTCUSDT", Direction.UP, Decimal("70000"), "")
    await store.pause_chat(1)
    other = await store.create_alert(1, "BTCUSDT", Direction.UP, Decimal("71000"), "")
    assert (await store.block_chat(1, "blocked"))[0] == 1  # only the one /pause left watching
    back = await store.unblock_chat(1, {"BTCUSDT": Decimal("65000")})
    assert [a.id for a in back.alerts] == [other.id]
    assert await _state(store, mine.id) == "paused"
    assert [a.id for a in (await store.resume_chat(1, {"BTCUSDT": Decimal("65000")})).alerts] == [mine.id]


async def test_closing_an_alert_records_when(store: AlertStore) -> None:
    once = await store.create_alert(1, "BTCUSDT", Direction.UP, Decimal("70000"), "")
    repeat = await store.create_alert(1, "BTCUSDT", Direction.UP, Decimal("70000"), "", repeat_seconds=60,
                                      rearm_level=Decimal("69000"))
    gone = await store.create_alert(1, "ETHUSDT", Direction.UP, Decimal("9000"), "")
    await store.fire_crossed({"BTCUSDT": Decimal("70000")}, render)
    await store.delete_alert(1, gone.id)
    assert (await store.get_alert(1, once.id)).closed_at is not None
    assert (await store.get_alert(1, repeat.id)).closed_at is None  # it lives on
    assert (await store.get_alert(1, gone.id)).closed_at is not None
    rearmed = await store.rearm_alert(1, once.id)
    assert rearmed.closed_at is None and rearmed.state.value == "active"
