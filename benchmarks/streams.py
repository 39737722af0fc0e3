"""Stream reader benchmark: the CPU share of reading `<symbol>@kline_1m` for many busy symbols.

The fake market-stream server runs in a child process (so its own work is not counted) and
trades every symbol every 250 ms, so each symbol gets an update every push (Binance's pace for a
busy symbol). This process runs the reader and the extremes tracker, and a tick every 2 s that
takes the extremes and feeds the watchdog; we report this process's CPU time over the run
divided by the wall time: the share of one core the reader costs.

    python -m benchmarks.streams --symbols 600 --seconds 30

With --mark it measures the all-market mark price reader instead (bot.exchange.markprice,
docs/futures.md): one subscription to `!markPrice@arr@1s`, every symbol's mark, index and funding
every second (Binance's pace), the mark prices moving each time.

    python -m benchmarks.streams --mark --symbols 700 --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from decimal import Decimal

from bot.alerts.extremes import ExtremesTracker
from bot.exchange.markprice import MarkPrices
from bot.exchange.streams import KlineStreams
from tests.fakes.marks import FakeMarks
from tests.fakes.streams import FakeStreams


def symbol_names(count: int) -> list[str]:
    return [f"S{i:04d}USDT" for i in range(count)]


async def serve(symbols: int) -> None:
    """The child: a fake server whose symbols all trade every 250 ms; prints its URL, runs until stdin closes."""
    names = symbol_names(symbols)
    fake = FakeStreams(prices={name: "100" for name in names})
    url = await fake.start()
    print(url, flush=True)
    rng = random.Random(1)
    prices = {name: 10_000 for name in names}

    async def trade() -> None:
        while True:
            for name in names:
                prices[name] += rng.choice((-3, -1, 1, 3))  # every bar changes: h, l or c moves
                fake.trade(name, Decimal(prices[name]) / 100)
            await asyncio.sleep(0.25)

    trading = asyncio.get_running_loop().create_task(trade())
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    trading.cancel()
    await fake.stop()


async def serve_marks(symbols: int) -> None:
    """The child for --mark: every symbol's mark price moves every second; the stream pushes them all."""
    names = symbol_names(symbols)
    fake = FakeStreams(prices={name: "100" for name in names}, mark_interval=1.0,
                       marks=FakeMarks.from_prices({name: "100" for name in names}))
    url = await fake.start()
    print(url, flush=True)
    rng = random.Random(1)

    async def move() -> None:
        while True:
            for name in names:
                fake.marks.set(name, f"{100 + rng.randint(-300, 300) / 100:.2f}")
            await asyncio.sleep(1.0)

    moving = asyncio.get_running_loop().create_task(move())
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    moving.cancel()
    await fake.stop()


async def measure_marks(symbols: int, seconds: float) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.streams", "--serve", "--mark", "--symbols", str(symbols),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None and child.stdin is not None
    url = (await child.stdout.readline()).decode().strip()
    reader = MarkPrices(url, None)  # the stream alone: no fallback in this measurement
    await reader.start()
    started = time.monotonic()
    while len(reader.fresh(5.0)) < symbols and time.monotonic() - started < 30:
        await asyncio.sleep(0.1)
    messages, wall, cpu = reader.messages, time.monotonic(), time.process_time()
    fresh_counts = []
    while time.monotonic() - wall < seconds:
        await asyncio.sleep(1.0)  # the tick reads the fresh marks at most once a second
        fresh_counts.append(len(reader.fresh(60.0)))
    cpu_used, wall_used = time.process_time() - cpu, time.monotonic() - wall
    received = reader.messages - messages
    print(f"mark stream: symbols={symbols} seconds={wall_used:.1f} messages={received} "
          f"entries/s={received * symbols / wall_used:.0f} fresh symbols={min(fresh_counts)}..{max(fresh_counts)} "
          f"skipped={reader.skipped} cpu={cpu_used:.2f} s -> {100 * cpu_used / wall_used:.1f} % of one core "
          f"status={reader.status}")
    await reader.close()
    child.stdin.close()
    await child.wait()


async def measure(symbols: int, seconds: float) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.streams", "--serve", "--symbols", str(symbols),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None and child.stdin is not None
    url = (await child.stdout.readline()).decode().strip()
    tracker = ExtremesTracker()
    reader = KlineStreams(url, tracker)
    await reader.start()
    names = symbol_names(symbols)
    reader.watch(names)
    started = time.monotonic()
    while reader.status != "live" and time.monotonic() - started < 30:
        await asyncio.sleep(0.1)
    await asyncio.sleep(3)  # every subscription acknowledged, updates flowing

    updates = 0
    original = tracker.update

    def counting(*args: object) -> None:
        nonlocal updates
        updates += 1
        original(*args)  # type: ignore[arg-type]

    tracker.update = counting  # type: ignore[method-assign]
    wall, cpu = time.monotonic(), time.process_time()
    prices = {name: Decimal(100) for name in names}
    reported = 0
    while time.monotonic() - wall < seconds:
        await asyncio.sleep(2.0)  # the tick's pace
        reported += len(tracker.take())
        reader.note_prices(prices)
    cpu_used, wall_used = time.process_time() - cpu, time.monotonic() - wall
    print(f"symbols={symbols} seconds={wall_used:.1f} updates={updates} ({updates / wall_used:.0f}/s) "
          f"symbols with extremes per tick={reported / (wall_used / 2):.0f} "
          f"cpu={cpu_used:.2f} s -> {100 * cpu_used / wall_used:.1f} % of one core "
          f"({1e6 * cpu_used / max(updates, 1):.1f} us per update) status={reader.status}")
    await reader.close()
    child.stdin.close()
    await child.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--symbols", type=int, default=600)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--mark", action="store_true", help="the all-market mark price stream instead of klines")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve_marks(args.symbols) if args.mark else serve(args.symbols))
    else:
        asyncio.run(measure_marks(args.symbols, args.seconds) if args.mark else measure(args.symbols, args.seconds))


if __name__ == "__main__":
    main()
