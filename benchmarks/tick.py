"""Tick benchmark: does a tick cost O(symbols + fired), not O(alerts stored)?

Builds N active alerts over S symbols (a few symbols much more watched than others, like real
users), then times the tick's evaluation (all prices in -> alerts fired and messages recorded)
when 0, 10 and 1,000 alerts fire, next to a naive baseline that loads every active alert and
compares in Python. "full tick" adds every other query a tick runs (expiry, re-arming, move
alerts). Also times the chat commands' queries, and the Python memory a tick needs.

    python -m benchmarks.tick --alerts 1000000 --symbols 600 --database URL

With --marks, half of the alerts watch the mark price (docs/futures.md) and `mark_N` times what
the tick adds for them once a second: the re-arm statements and the firing of each of the
sources live alerts watch (one transaction each), N mark alerts firing; compare it with `last_N`.

One line of figures per run (milliseconds, medians of --repeat runs).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

from sqlalchemy import delete, insert, select, text, update

from bot.alerts.extremes import Extremes
from bot.alerts.rules import Direction, crossed
from bot.notify.notices import render_expired, render_fired
from bot.storage import migrate
from bot.storage.db import make_engine, make_sessions
from bot.storage.models import Alert, AlertState, OutboxMessage
from bot.storage.store import AlertStore, utcnow
from bot.sources import FUTURES_SOURCES, PriceSource

BASE = Decimal("100")  # every symbol trades at 100 while alerts wait above 105 or below 95
BUSY_CHAT = 1  # a chat with 100 alerts, for the listing benchmark


def symbol_names(count: int) -> list[str]:
    return [f"S{i:04d}USDT" for i in range(count)]


def build_rows(alerts: int, symbols: list[str], rng: random.Random, mark_share: float = 0.0) -> list[dict]:
    """Zipf-like popularity: the first symbols get most of the alerts."""
    weights = [1 / (rank + 1) for rank in range(len(symbols))]
    chosen = rng.choices(symbols, weights=weights, k=alerts)
    now = utcnow()
    rows = []
    for i, symbol in enumerate(chosen):
        up = rng.random() < 0.5
        offset = Decimal(rng.randint(500_000_000, 90_000_000_000)) / Decimal(10**9)  # 0.5 .. 90
        level = BASE + 5 + offset if up else BASE - 5 - offset / 10
        rows.append({
            "chat_id": BUSY_CHAT if i < 100 else 1000 + i // 3, "symbol": symbol,
            "direction": Direction.UP if up else Direction.DOWN, "level": level, "note": "",
            "state": AlertState.ACTIVE, "created_at": now,
            "price_source": PriceSource.MARK if rng.random() < mark_share else PriceSource.LAST,
        })
    return rows


async def load(database_url: str, alerts: int, symbols: list[str], mark_share: float = 0.0) -> None:
    await asyncio.to_thread(migrate.downgrade, database_url, "base")
    await asyncio.to_thread(migrate.upgrade, database_url)
    engine = make_engine(database_url)
    rows = build_rows(alerts, symbols, random.Random(42), mark_share)
    async with engine.begin() as connection:
        for start in range(0, len(rows), 20_000):
            await connection.execute(insert(Alert), rows[start:start + 20_000])
        if engine.dialect.name == "postgresql":
            await connection.execute(text("ANALYZE alerts"))
        else:
            await connection.execute(text("ANALYZE"))
    await engine.dispose()


async def median_ms(action: Callable[[], Awaitable[object]], repeat: int, reset: Callable[[], Awaitable[None]] | None = None) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await action()
        times.append((time.perf_counter() - started) * 1000)
        if reset is not None:
            await reset()
    return statistics.median(times)


async def median_pair_ms(first: Callable[[], Awaitable[object]], second: Callable[[], Awaitable[object]], repeat: int,
                         reset: Callable[[], Awaitable[None]] | None = None) -> tuple[float, float, float, float]:
    """Both actions, alternated, so that a busy machine slows both alike: wall and CPU
    milliseconds (this process, SQLite's thread included) of the first, then of the second."""
    wall: tuple[list[float], list[float]] = ([], [])
    cpu: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for action, spent, used in ((first, wall[0], cpu[0]), (second, wall[1], cpu[1])):
            started, started_cpu = time.perf_counter(), time.process_time()
            await action()
            spent.append((time.perf_counter() - started) * 1000)
            used.append((time.process_time() - started_cpu) * 1000)
            if reset is not None:
                await reset()
    return (statistics.median(wall[0]), statistics.median(wall[1]),
            statistics.median(cpu[0]), statistics.median(cpu[1]))


def wicks(symbols: list[str], points: int, highs: dict[str, Decimal] | None = None) -> dict[str, Extremes]:
    """What the market stream gives a tick for 600 watched symbols: every symbol wicked both
    ways beyond its last price, `points` suffix extremes a side (1: a new minute's bar, the
    common busy case; 2: a new bar after a higher wick, the worst case), or up to `highs`."""
    now = time.time()
    out = {}
    for symbol in symbols:
        top = (highs or {}).get(symbol, BASE + 1)
        ups = ((top, now - 1), (BASE + Decimal("0.5"), now))[:points]
        downs = ((BASE - 1, now - 1), (BASE - Decimal("0.5"), now))[:points]
        out[symbol] = Extremes(top, now - 1, BASE - 1, now - 1, ups, downs)
    return out


async def run(database_url: str, alerts: int, symbol_count: int, repeat: int, skip_load: bool,
              with_extremes: bool = False, with_marks: bool = False) -> str:
    symbols = symbol_names(symbol_count)
    if not skip_load:
        started = time.perf_counter()
        await load(database_url, alerts, symbols, 0.5 if with_marks else 0.0)
        load_s = time.perf_counter() - started
    else:
        load_s = 0.0
    engine = make_engine(database_url)
    sessions = make_sessions(engine)
    store = AlertStore(sessions)

    async def reset() -> None:
        async with sessions() as session:
            await session.execute(update(Alert).where(Alert.state == AlertState.FIRED).values(
                state=AlertState.ACTIVE, fired_at=None, fired_price=None))
            await session.execute(delete(OutboxMessage))
            await session.commit()

    async def prices_firing(count: int, source: PriceSource = PriceSource.LAST) -> dict[str, Decimal]:
        """All symbols at BASE, except the most watched ones, moved to fire exactly `count` alerts."""
        prices = {s: BASE for s in symbols}
        async with sessions() as session:
            for symbol in symbols:
                if count <= 0:
                    break
                levels = (await session.scalars(
                    select(Alert.level).where(Alert.state == AlertState.ACTIVE, Alert.symbol == symbol,
                                              Alert.direction == Direction.UP, Alert.price_source == source)
                    .order_by(Alert.level).limit(count)
                )).all()
                if levels:
                    prices[symbol] = levels[-1]
                    count -= len(levels)
        return prices

    figures: dict[str, float] = {}
    for firing in (0, 10, 1000):
        prices = await prices_firing(firing)
        fired = await store.fire_crossed(prices, render_fired)
        assert len(fired) == firing, (len(fired), firing)
        await reset()
        figures[f"tick_{firing}"] = await median_ms(lambda: store.fire_crossed(prices, render_fired), repeat, reset)

    if with_marks:  # what the tick adds once a second for mark and index alerts (bot.alerts.tick._fire_marks)
        last = {s: BASE for s in symbols}
        watched = await store.sources_in_use()  # the tick reads it after alerts changed, not every second
        figures["sources"] = await median_ms(store.sources_in_use, repeat)
        for firing in (0, 10, 1000):
            prices = await prices_firing(firing)

            async def last_step() -> None:  # the last-price fire step of a tick: re-arm, then fire
                await store.start_cooldowns(prices)
                await store.fire_crossed(prices, render_fired)

            figures[f"last_{firing}"] = await median_ms(last_step, repeat, reset)
            marks = await prices_firing(firing, PriceSource.MARK)

            async def mark_step() -> int:  # as the tick does: only the sources live alerts watch, one step each
                count = 0
                for source in [s for s in FUTURES_SOURCES if s in watched]:
                    count += len(await store.step(marks, render_fired, source=source, last_prices=last))
                return count

            assert await mark_step() == firing
            await reset()
            figures[f"mark_{firing}"] = await median_ms(mark_step, repeat, reset)

    extremes_figures = ""
    if with_extremes:
        # The same evaluation with every symbol's wicks since the last tick: none reaches a level
        # (1 or 2 points a side), then 10 alerts fire by a wick (the prices stay at BASE).
        flat = {s: BASE for s in symbols}
        for points in (1, 2):
            none_reached = wicks(symbols, points)
            assert await store.fire_crossed(flat, render_fired, none_reached) == []
            (figures[f"plain_0_{points}"], figures[f"wick_0_{points}"],
             figures[f"plain_0_{points}_cpu"], figures[f"wick_0_{points}_cpu"]) = await median_pair_ms(
                lambda: store.fire_crossed(flat, render_fired),
                lambda: store.fire_crossed(flat, render_fired, none_reached), repeat, reset)
        reached = wicks(symbols, 1, {s: p for s, p in (await prices_firing(10)).items() if p != BASE})
        fired = await store.fire_crossed(flat, render_fired, reached)
        assert len(fired) == 10 and all(f.touched is not None for f in fired), len(fired)
        await reset()
        figures["wick_10"] = await median_ms(lambda: store.fire_crossed(flat, render_fired, reached), repeat, reset)
        extremes_figures = (
            f"fire_0_ms(no wicks/1 point/2 points)={figures['plain_0_1']:.1f}/{figures['wick_0_1']:.1f}/"
            f"{figures['wick_0_2']:.1f} cpu_ms={figures['plain_0_1_cpu']:.1f}/{figures['wick_0_1_cpu']:.1f}/"
            f"{figures['wick_0_2_cpu']:.1f} fire_10_by_wicks_ms={figures['wick_10']:.1f} ")

    prices = await prices_firing(10)

    async def full_tick() -> None:
        """Everything a tick asks the database, as AlertService.tick does it (minus the exchange)."""
        await store.expire_due(render_expired)
        await store.end_cooldowns()
        await store.has_active_alerts()
        await store.start_cooldowns(prices)
        await store.fire_crossed(prices, render_fired)
        await store.watched_windows()

    figures["full_10"] = await median_ms(full_tick, repeat, reset)
    if with_extremes:
        minute = wicks(symbols, 1)

        async def full_tick_with_wicks() -> None:
            """The same tick with a new minute's wicks on all 600 symbols (the busiest common tick)."""
            await store.expire_due(render_expired)
            await store.end_cooldowns()
            await store.has_active_alerts()
            await store.start_cooldowns(prices)
            await store.fire_crossed(prices, render_fired, minute)
            await store.watched_windows()

        plain, with_wicks, plain_cpu, with_wicks_cpu = await median_pair_ms(full_tick, full_tick_with_wicks, repeat, reset)
        figures["watched_symbols"] = await median_ms(store.watched_symbols, repeat)  # every 30 s, not every tick
        extremes_figures += (f"full_tick_ms(fire 10; without/with a new minute's wicks)={plain:.1f}/{with_wicks:.1f} "
                             f"ratio={with_wicks / plain:.2f}x cpu_ms={plain_cpu:.1f}/{with_wicks_cpu:.1f} "
                             f"cpu_ratio={with_wicks_cpu / plain_cpu:.2f}x "
                             f"watched_symbols_ms(every 30 s)={figures['watched_symbols']:.1f} ")

    async def naive() -> int:
        async with sessions() as session:
            rows = (await session.execute(select(Alert.id, Alert.symbol, Alert.direction, Alert.level)
                                          .where(Alert.state == AlertState.ACTIVE,
                                                 Alert.price_source == PriceSource.LAST))).all()
        return sum(1 for r in rows if r.symbol in prices and crossed(r.direction, r.level, prices[r.symbol]))

    assert await naive() == 10
    figures["naive_10"] = await median_ms(naive, max(1, min(repeat, 3)))

    tracemalloc.start()
    await store.fire_crossed(prices, render_fired)
    tick_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    await reset()
    await naive()
    naive_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    created: list[int] = []

    async def create() -> None:
        created.append((await store.create_alert(BUSY_CHAT, symbols[1], Direction.UP, Decimal("150"), "bench")).id)

    figures["create"] = await median_ms(create, repeat)
    figures["list_100"] = await median_ms(lambda: store.list_active(BUSY_CHAT, limit=100), repeat)

    async def delete_one() -> None:
        await store.delete_alert(BUSY_CHAT, created.pop())

    figures["delete"] = await median_ms(delete_one, repeat)
    await engine.dispose()
    return (
        f"db={engine.dialect.name} alerts={alerts} symbols={symbol_count} load_s={load_s:.0f} "
        f"tick_ms(fire 0/10/1000)={figures['tick_0']:.1f}/{figures['tick_10']:.1f}/{figures['tick_1000']:.1f} "
        f"full_tick_ms(fire 10)={figures['full_10']:.1f} {extremes_figures}"
        + (f"last_step_ms(re-arm + fire 0/10/1000)={figures['last_0']:.1f}/{figures['last_10']:.1f}/"
           f"{figures['last_1000']:.1f} "
           f"sources_read_ms={figures['sources']:.1f} "
           f"mark_step_ms(sources watched, re-arm + fire 0/10/1000)={figures['mark_0']:.1f}/{figures['mark_10']:.1f}/"
           f"{figures['mark_1000']:.1f} mark_vs_last(fire 10)={figures['mark_10'] / figures['last_10']:.2f}x "
           if 'mark_0' in figures else "") +
        f"naive_ms(fire 10)={figures['naive_10']:.0f} speedup={figures['naive_10'] / figures['tick_10']:.0f}x "
        f"create_ms={figures['create']:.1f} list100_ms={figures['list_100']:.1f} delete_ms={figures['delete']:.1f} "
        f"tick_peak_kib={tick_peak / 1024:.0f} naive_peak_kib={naive_peak / 1024:.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--symbols", type=int, default=600)
    parser.add_argument("--database", default="", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--skip-load", action="store_true", help="reuse the alerts already in the database")
    parser.add_argument("--marks", action="store_true", help="half the alerts on the mark price; time their step")
    parser.add_argument("--extremes", action="store_true",
                        help="also time the evaluation with every symbol's wicks since the last tick (market stream)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        print(asyncio.run(run(url, args.alerts, args.symbols, args.repeat, args.skip_load, args.extremes, args.marks)),
              flush=True)


if __name__ == "__main__":
    main()
