"""Chart benchmark: how long one drawing takes, and whether ticks keep their pace while charts are drawn.

1. Render: draws a 96-bar chart with five alert levels and a crossing mark N times in this
   process and prints the median and 95th percentile (target: median <= 250 ms).
2. Ticks: runs the real bot (fake Telegram, fake Binance WebSocket API and REST) with one
   active alert, so that it checks prices every POLL_INTERVAL; then 20 users ask for 20
   different charts at once (20 klines requests, 20 drawings: nothing cached) and the tick
   intervals measured by the fake exchange meanwhile are printed (target: within 10 % of
   POLL_INTERVAL).

    python -m benchmarks.chart [--renders 100] [--poll 2] [--charts 20]
    python -m benchmarks.chart --readme        # docs/chart.png from docs/chart-klines.json
    python -m benchmarks.chart --record URL     # records docs/chart-klines.json from Binance REST
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from bot.charts.intervals import BARS
from bot.charts.render import ChartSpec, Level, Mark, render_chart, warm_up
from bot.exchange.rest import KLINES_PATH, parse_klines
from bot.storage import migrate
from tests.conftest import bot_settings, start_bot, stop_bot
from tests.fakes.exchange import FakeExchange
from tests.fakes.rest import FakeBinanceRest, generate_klines
from tests.fakes.telegram import FakeTelegram

DOCS = Path(__file__).resolve().parent.parent / "docs"
RECORDED = DOCS / "chart-klines.json"


def sample_spec() -> ChartSpec:
    bars = tuple(parse_klines(generate_klines("BTCUSDT", "65000.10", "1h", BARS, int(time.time() * 1000))))
    levels = tuple(Level(bars[-1].close * Decimal(f), Decimal(f) > 1, i) for i, f in
                   enumerate(["1.03", "1.01", "0.99", "0.985", "0.97"], start=1))
    return ChartSpec("BTCUSDT", "1h", bars, levels, Mark(bars[-8].open_time + 600_000, bars[-8].high))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def bench_render(renders: int) -> None:
    spec = sample_spec()
    warm_up()  # fonts and caches warm, and what is loaded frozen, as in the bot's drawing process
    timings = []
    for _ in range(renders):
        started = time.perf_counter()
        png = render_chart(spec)
        timings.append((time.perf_counter() - started) * 1000)
    print(f"render: {renders} charts 1280x720, {len(png) // 1024} KiB each; "
          f"median {statistics.median(timings):.0f} ms, p95 {percentile(timings, 0.95):.0f} ms, "
          f"max {max(timings):.0f} ms")


async def bench_ticks(poll: float, charts: int, database_url: str) -> None:
    await asyncio.to_thread(migrate.upgrade, database_url)
    exchange, telegram, rest = FakeExchange(), FakeTelegram(), FakeBinanceRest()
    await exchange.start()
    await telegram.start()
    rest.prices = exchange.prices
    await rest.start()
    application = await start_bot(bot_settings(database_url, exchange, telegram, binance_rest_url=rest.url,
                                               poll_interval=poll))
    try:
        await telegram.user_sends(1, "/alert BTCUSDT 999999")  # an active alert: ticks check prices
        await telegram.wait_for_message(1, "✅")
        await telegram.user_sends(1, "/chart BTCUSDT")  # starts the drawing process, as in a running bot
        await telegram.wait_for_message(1, "📈", timeout=60)
        await exchange.wait_for_requests(len(exchange.ticker_requests()) + 3, timeout=10 * poll)
        symbols = sorted(s for s in exchange.prices if s.endswith("USDT") and s.isascii())[:charts]
        started = time.time()
        for user, symbol in enumerate(symbols, start=100):
            await telegram.user_sends(user, f"/chart {symbol}")
        for user, symbol in enumerate(symbols, start=100):
            await telegram.wait_for_message(user, "📈", timeout=120)
        finished = time.time()
        # the ticks around the charts: the one before they started to the first after they ended
        await exchange.wait_for_requests(len(exchange.ticker_requests()) + 1, timeout=10 * poll)
        times = [r.at for r in exchange.ticker_requests()]
        first = max(i for i, at in enumerate(times) if at <= started)
        last = min(i for i, at in enumerate(times) if at >= finished)
        gaps = [b - a for a, b in zip(times[first:last], times[first + 1:last + 1])]
    finally:
        await stop_bot(application)
        await rest.stop()
        await telegram.stop()
        await exchange.stop()
    worst = max(abs(g - poll) for g in gaps) / poll * 100
    print(f"ticks: {charts} different charts asked at once, all sent in {finished - started:.2f} s "
          f"({len(rest.requests) - 1} klines requests); tick intervals meanwhile "
          f"{', '.join(f'{g:.3f}' for g in gaps)} s (POLL_INTERVAL {poll:g} s): "
          f"worst {worst:.1f} % off, {'within' if worst <= 10 else 'NOT within'} 10 %")


def readme_chart() -> None:
    """docs/chart.png, drawn by the bot's own code from the klines in docs/chart-klines.json."""
    recorded = json.loads(RECORDED.read_text())
    bars = tuple(parse_klines(recorded["klines"]))
    levels = tuple(Level(Decimal(level["price"]), level["rising"], level["id"], level.get("highlight", False))
                   for level in recorded["levels"])
    mark = recorded.get("mark")
    spec = ChartSpec(recorded["symbol"], recorded["interval"], bars, levels,
                     Mark(mark["at_ms"], Decimal(mark["price"])) if mark else None)
    (DOCS / "chart.png").write_bytes(render_chart(spec))
    print(f"wrote {DOCS / 'chart.png'} from {RECORDED.name} ({len(bars)} bars of {spec.symbol} {spec.interval})")


def record(url: str, symbol: str, interval: str) -> None:
    """Keeps Binance's rows as they came, with the levels and mark the README chart shows."""
    response = httpx.get(url.rstrip("/") + KLINES_PATH, params={"symbol": symbol, "interval": interval, "limit": BARS})
    response.raise_for_status()
    rows = response.json()
    bars = parse_klines(rows)
    close = bars[-1].close
    crossing = max(bars[-30:], key=lambda bar: bar.high)
    recorded = {
        "source": f"{url}{KLINES_PATH}?symbol={symbol}&interval={interval}&limit={BARS}",
        "symbol": symbol, "interval": interval, "klines": rows,
        "levels": [
            {"id": 12, "price": f"{crossing.high.quantize(Decimal(1)) - 1:f}", "rising": True, "highlight": True},
            {"id": 15, "price": f"{(close * Decimal('1.02')).quantize(Decimal(1)):f}", "rising": True},
            {"id": 16, "price": f"{(close * Decimal('0.975')).quantize(Decimal(1)):f}", "rising": False},
        ],
        "mark": {"at_ms": crossing.open_time + 1_200_000, "price": f"{crossing.high:f}"},
    }
    write_recorded(recorded)
    print(f"recorded {len(rows)} klines of {symbol} {interval} into {RECORDED}")


def write_recorded(recorded: dict[str, Any]) -> None:
    """One kline per line, so that the file reads (and diffs) like the table it is."""
    head = {key: value for key, value in recorded.items() if key != "klines"}
    body = json.dumps(head, indent=1, ensure_ascii=False)[:-2]
    rows = ",\n  ".join(json.dumps(row) for row in recorded["klines"])
    RECORDED.write_text(f'{body},\n "klines": [\n  {rows}\n ]\n}}\n')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--renders", type=int, default=100)
    parser.add_argument("--poll", type=float, default=2.0, help="POLL_INTERVAL of the bot under test")
    parser.add_argument("--charts", type=int, default=20)
    parser.add_argument("--readme", action="store_true", help="only redraw docs/chart.png")
    parser.add_argument("--record", metavar="URL", help="only record docs/chart-klines.json from this REST root")
    parser.add_argument("--symbol", default="BTCUSDT")
    parser.add_argument("--interval", default="1h")
    args = parser.parse_args()
    if args.record:
        record(args.record, args.symbol, args.interval)
        return
    if args.readme:
        readme_chart()
        return
    bench_render(args.renders)
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(bench_ticks(args.poll, args.charts, f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"))


if __name__ == "__main__":
    main()
