"""Mini App benchmark (issue 23): is the app light and fast, and does it leave the tick alone?

Runs the real bot and its HTTP server against the tests' fakes (Telegram, the exchange, klines)
and Debian's headless chromium, and prints one line of figures:

- open_kb_gzip: bytes a first open transfers (page, script, stylesheet, lightweight-charts,
  telegram-web-app.js, the API answers), each gzipped as a reverse proxy sends it (goal ≤ 350 KB);
- first_chart_ms: from the navigation's start to the frame that paints the first chart, median of
  5 fresh opens, from the page's Performance API (goal ≤ 1 s); first_chart_wall_ms the same opens
  timed from outside (a new tab, the navigation, and Playwright noticing the chart), and open_*_ms
  where the time goes: the page (html), the first API request sent (asked), the last of the first
  three answers in (answered), the last script in (scripts), the page parsed, the chart drawn
  (--latency 100: the same opens over a phone-like network, each request answered 100 ms later);
- api_p50/p99_ms of the page's calls (its poll: /api/live; the list: /api/alerts; a level move: PATCH)
  with --alerts stored alerts (goal p99 ≤ 50 ms);
- tick_p99_ms with and without --apps simulated open apps polling as the page polls (every
  POLL_INTERVAL, one HTTP client each: 200 browsers would measure the browsers), and the ticks
  run in each window (goal: every tick on time, p99 within 1.2x). The clients poll from a
  process of their own (phones do not share the bot's event loop; on this machine they share
  its cores); --clients-in-process runs them in the bot's loop, as measured before.

    python -m benchmarks.webapp --alerts 1000000 --apps 200
    python -m benchmarks.webapp --screenshots docs   # phone-sized light and dark screenshots only
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.tick import BUSY_CHAT, load, symbol_names
from bot.runtime.parts import parts_of
from tests.fakes.exchange import FakeExchange
from tests.fakes.rest import FakeBinanceRest
from tests.fakes.telegram import FakeTelegram
from tests.webapp_browser import DARK, LIGHT, PHONE, launch, new_context, open_app, telegram_url
from tests.webapp_support import AppServer, init_data, serve_app

POLL = 1.0  # seconds: POLL_INTERVAL of the benchmark's bot (the page polls at the same pace)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def timed(action: Callable[[], Awaitable[Any]], count: int) -> list[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        await action()
        times.append((time.perf_counter() - start) * 1000)
    return times


# Where a fresh open's time goes, read from the page's Performance API (milliseconds from the
# navigation's start): the frame that paints the chart is the first one after the page marks it drawn.
WATCH_DRAWN = """
new MutationObserver(function () {
  if (!window.__drawn && document.body && document.body.getAttribute('data-chart') === 'drawn') {
    window.__drawn = performance.now();
    requestAnimationFrame(function () { window.__painted = performance.now(); });
  }
}).observe(document, {attributes: true, subtree: true, attributeFilter: ['data-chart']});
"""
STEPS = """() => {
  const entries = performance.getEntriesByType('resource'), page = performance.getEntriesByType('navigation')[0];
  const api = entries.filter(e => /\\/api\\//.test(e.name)), scripts = entries.filter(e => /\\.js$/.test(e.name));
  return {html: page.responseEnd, asked: Math.min(...api.map(e => e.startTime)),
          answered: Math.max(...api.map(e => e.responseEnd)), scripts: Math.max(...scripts.map(e => e.responseEnd)),
          parsed: page.domInteractive, drawn: window.__drawn, painted: window.__painted};
}"""


async def open_figures(app: AppServer, latency: float = 0) -> tuple[float, dict[str, float]]:
    """(KB gzipped for a first open, the median of 5 fresh opens of each step to the first drawn chart)."""
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as playwright:
        browser = await launch(playwright)
        sizes: list[int] = []
        context = await new_context(browser)

        async def count(response: Any) -> None:
            try:
                sizes.append(len(gzip.compress(await response.body(), 6)))
            except Exception:  # a redirect or an aborted request carries no body
                pass

        context.on("response", lambda response: asyncio.ensure_future(count(response)))
        page = await open_app(context, app.url, init_data(app.token, BUSY_CHAT))
        await expect(page.locator("body[data-chart=drawn]")).to_have_count(1, timeout=30_000)
        await asyncio.sleep(0.5)
        await context.close()
        opens: list[dict[str, float]] = []
        for _ in range(5):
            context = await new_context(browser)
            await context.add_init_script(WATCH_DRAWN)
            start = time.perf_counter()
            page = await context.new_page()
            if latency:  # a phone's network: each request's answer `latency` ms later (Chromium's emulation)
                cdp = await context.new_cdp_session(page)
                await cdp.send("Network.emulateNetworkConditions", {
                    "offline": False, "latency": latency, "downloadThroughput": -1, "uploadThroughput": -1})
            await page.goto(telegram_url(app.url, init_data(app.token, BUSY_CHAT)))
            await expect(page.locator("body[data-chart=drawn]")).to_have_count(1, timeout=30_000)
            wall = (time.perf_counter() - start) * 1000  # a new tab, the navigation, and Playwright seeing it
            await page.wait_for_function("window.__painted !== undefined")
            opens.append({**await page.evaluate(STEPS), "wall": wall})
            await context.close()
        await browser.close()
    return sum(sizes) / 1024, {step: statistics.median(one[step] for one in opens) for step in opens[0]}


async def api_figures(app: AppServer, symbol: str, count: int) -> dict[str, tuple[float, float]]:
    headers = {"Authorization": "tma " + init_data(app.token, BUSY_CHAT)}
    figures = {}
    async with aiohttp.ClientSession(headers=headers) as session:
        async def get(path: str) -> None:
            async with session.get(app.url + path) as response:
                assert response.status == 200, await response.text()
                await response.read()

        alerts = await (await session.get(app.url + "api/alerts")).json()
        alert_id = alerts["groups"][0]["alerts"][0]["id"]
        levels = iter(["106", "107"] * count)

        async def move() -> None:
            async with session.patch(app.url + f"api/alerts/{alert_id}", json={"level": next(levels)}) as response:
                assert response.status == 200, await response.text()

        for name, action in (("live", lambda: get(f"api/live?symbol={symbol}")), ("alerts", lambda: get("api/alerts")),
                             ("move", move)):
            times = await timed(action, count)
            figures[name] = (statistics.median(times), percentile(times, 0.99))
    return figures


async def poll_as_pages(url: str, token: str, apps: int, symbol: str, stop: asyncio.Event) -> None:
    """`apps` open pages polling (`/api/live` every POLL, one at a time, opened at different moments)."""
    async def page(user: int) -> None:
        headers = {"Authorization": "tma " + init_data(token, user)}
        async with aiohttp.ClientSession(headers=headers) as session:
            await asyncio.sleep(POLL * user / max(apps, 1) % POLL)
            while not stop.is_set():
                async with session.get(url + f"api/live?symbol={symbol}") as response:  # the page's poll
                    await response.read()
                await asyncio.sleep(POLL)

    await asyncio.gather(*(page(10_000_000 + i) for i in range(apps)))


async def pollers_process(url: str, token: str, apps: int, symbol: str) -> None:
    """`--pollers`: the pages of tick_window in a process of their own, until stdin closes."""
    stop = asyncio.Event()
    polling = asyncio.create_task(poll_as_pages(url, token, apps, symbol, stop))
    print("polling", flush=True)
    await asyncio.to_thread(sys.stdin.read)
    stop.set()
    await polling


async def tick_window(app: AppServer, seconds: float, apps: int, symbol: str,
                      in_process: bool = False) -> tuple[list[float], int]:
    """Tick durations during `seconds`, with `apps` clients polling as open pages do: in a process of
    their own (phones do not run in the bot's event loop), or with `in_process` in the bot's loop."""
    durations: list[float] = []
    ticker = parts_of(app.application).ticker
    original = ticker.tick

    async def measured() -> int:
        start = time.perf_counter()
        try:
            return await original()
        finally:
            durations.append((time.perf_counter() - start) * 1000)

    stop = asyncio.Event()
    pollers = None
    if apps and in_process:
        clients = asyncio.create_task(poll_as_pages(app.url, app.token, apps, symbol, stop))
    elif apps:
        pollers = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benchmarks.webapp", "--pollers", app.url, "--apps", str(apps), "--symbol", symbol,
            env={**os.environ, "BENCH_BOT_TOKEN": app.token}, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, cwd=Path(__file__).resolve().parent.parent)
        assert pollers.stdout is not None and await pollers.stdout.readline() == b"polling\n"
    ticker.tick = measured  # type: ignore[method-assign]
    await asyncio.sleep(seconds)
    ticker.tick = original  # type: ignore[method-assign]
    stop.set()
    if pollers is not None:
        await pollers.communicate(b"")
    elif apps:
        await clients
    return durations, len(durations)


async def screenshots(app: AppServer, folder: Path) -> None:
    """Phone-sized light and dark screenshots, for docs/webapp.md."""
    from playwright.async_api import async_playwright, expect

    telegram: FakeTelegram = app.application.bot_data["screens_telegram"]
    for command in ("/alert BTCUSDT 66000 take profit", "/alert BTCUSDT 62500 every 1h", "/alert BTCUSDT 3% 15m",
                    "/alert ETHUSDT 2800"):
        before = len(telegram.sent)
        await telegram.user_sends(4242, command)
        await telegram.wait_for_message(4242, "✅", after=before)
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        for name, theme in (("light", LIGHT), ("dark", DARK)):
            context = await new_context(browser, dark=name == "dark")
            page = await open_app(context, app.url, init_data(app.token, 4242), theme=theme)
            await expect(page.locator("body[data-chart=drawn]")).to_have_count(1, timeout=30_000)
            await asyncio.sleep(0.5)
            await page.screenshot(path=str(folder / f"webapp-{name}.png"), clip={"x": 0, "y": 0, **PHONE})
            await context.close()
        await browser.close()


async def run(args: argparse.Namespace) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        exchange, telegram = FakeExchange(), FakeTelegram()
        await exchange.start()
        await telegram.start()
        symbols = symbol_names(args.symbols)
        for symbol in symbols:
            exchange.set_price(symbol, "100")
        exchange.set_price("BTCUSDT", "64000.00")
        rest = FakeBinanceRest(prices=exchange.prices)
        await rest.start()
        try:
            started = time.perf_counter()
            if not args.skip_load:
                await load(url, 0 if args.screenshots else args.alerts, symbols)
            loaded = time.perf_counter() - started
            async with serve_app(url, exchange, telegram, rest, poll_interval=POLL, commands_per_minute=1000) as app:
                if args.screenshots:
                    app.application.bot_data["screens_telegram"] = telegram
                    folder = Path(args.screenshots)
                    folder.mkdir(parents=True, exist_ok=True)
                    await screenshots(app, folder)
                    return f"screenshots: {folder / 'webapp-light.png'} {folder / 'webapp-dark.png'}"
                kilobytes, steps = await open_figures(app, args.latency)
                api = await api_figures(app, symbols[0], args.requests)
                quiet, quiet_ticks = await tick_window(app, args.seconds, 0, symbols[0])
                busy, busy_ticks = await tick_window(app, args.seconds, args.apps, symbols[0], args.clients_in_process)
                expected = int(args.seconds / POLL)
                return (
                    f"alerts={args.alerts} load_s={loaded:.0f} open_kb_gzip={kilobytes:.0f} "
                    f"first_chart_ms={steps['painted']:.0f} first_chart_wall_ms={steps['wall']:.0f} "
                    + " ".join(f"open_{step}_ms={steps[step]:.0f}" for step in
                               ("html", "asked", "answered", "scripts", "parsed", "drawn")) + " "
                    + " ".join(f"api_{name}_p50_ms={p50:.1f} api_{name}_p99_ms={p99:.1f}"
                               for name, (p50, p99) in api.items())
                    + f" tick_p50_ms_quiet={percentile(quiet, 0.5):.1f} tick_p99_ms_quiet={percentile(quiet, 0.99):.1f}"
                    f" ticks_run_quiet={quiet_ticks} tick_p50_ms_{args.apps}_apps={percentile(busy, 0.5):.1f}"
                    f" tick_p99_ms_{args.apps}_apps={percentile(busy, 0.99):.1f} ticks_run_{args.apps}_apps={busy_ticks}"
                    f" ticks_expected={expected}"
                    f" tick_ratio={percentile(busy, 0.99) / percentile(quiet, 0.99):.2f}"
                )
        finally:
            await rest.stop()
            await telegram.stop()
            await exchange.stop()
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=1_000_000)
    parser.add_argument("--symbols", type=int, default=600)
    parser.add_argument("--apps", type=int, default=200)
    parser.add_argument("--requests", type=int, default=300, help="requests per API call timed")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each tick window")
    parser.add_argument("--database", default="", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--skip-load", action="store_true", help="reuse the alerts already in --database")
    parser.add_argument("--screenshots", default="", help="only take the light and dark screenshots into this folder")
    parser.add_argument("--latency", type=float, default=0, help="ms added to each request of the first-chart opens")
    parser.add_argument("--clients-in-process", action="store_true",
                        help="the polling pages in the bot's own event loop (as measured before 2026-12-07)")
    parser.add_argument("--pollers", default="", help=argparse.SUPPRESS)  # tick_window's process of pages
    parser.add_argument("--symbol", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pollers:
        asyncio.run(pollers_process(args.pollers, os.environ["BENCH_BOT_TOKEN"], args.apps, args.symbol))
        return
    print(asyncio.run(run(args)), flush=True)


if __name__ == "__main__":
    main()
