"""Memory benchmark: does the bot's memory settle under a steady load?

Runs the real bot process (`python -m bot run`, as an operator starts it) against the local
fakes of Binance (WebSocket API, market streams, REST klines) and Telegram, all in this
benchmark's event loop. Every check the prices of 40 symbols random-walk; ten users (nine
private chats and one group, whose admin is asked of Telegram) create alerts of every kind
(levels, above/below, % moves, `3% 15m` moves, repeats, expiring ones, notes), list them
(/alerts and its paging buttons), press the buttons under notifications (snooze, re-arm,
delete, 📈), delete alerts (/delete and list buttons), ask /price and /chart, pause, resume and
switch languages. Every 30 s it reads the bot process's resident memory (VmRSS in
/proc/PID/status), and the private memory (USS) of its children (the chart-drawing process,
multiprocessing's resource tracker), and prints them with the prices the bot keeps for move
alerts (`pricealert_move_history_entries`, read from its /metrics: the bot runs with
METRICS_LISTEN, as a monitored deployment does); at the end, both over time and their growth
over the last 20 minutes (the goal: under 1 MiB).

    python -m benchmarks.memory [--minutes 30] [--database URL] [--tracemalloc] [--log FILE]

`--database` defaults to a new SQLite file in a temporary directory; a PostgreSQL URL
(`postgresql+asyncpg://postgres@127.0.0.1:5432/bench_memory`) has its public schema dropped
and rebuilt first. `--tracemalloc` sets `PRICEALERT_TRACEMALLOC=DIR` for the bot (see
bot/memtrace.py: the bot starts tracemalloc and writes a snapshot on each SIGUSR1), asks for a
snapshot at minute 5 and at the end, and prints the allocations that grew most between the two,
by file:line. Tracing makes the process bigger and slower: read RSS from runs without it.
`--log` keeps the bot's log (its stderr), whose warnings, errors and tracebacks are counted.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import aiohttp

from tests.conftest import _reset_postgres, bot_env
from tests.fakes.exchange import FakeExchange
from tests.fakes.rest import FakeBinanceRest
from tests.fakes.streams import COMBINED, FakeStreams
from tests.fakes.telegram import FakeTelegram, Sent
from tests.test_health_metrics import get as get_page, samples as metric_samples
from tests.processes import cpu_seconds, descendants, free_port

SAMPLE_EVERY = 30.0  # seconds between RSS samples
FIRST_SNAPSHOT_AT = 300.0  # seconds: tracemalloc's first snapshot, after start-up has settled
POLL_INTERVAL = 1.0  # seconds between the bot's price checks; prices move every check
USERS = 10
GROUP_ID = -1001000000010
GROUP_ADMIN = 1010
ACTION_PAUSE = (1.0, 4.0)  # seconds between one user's actions (about 24 a minute each)
KEEP_ALERTS = (8, 25)  # a user creates while below the first, deletes while above the second
STEP = 0.002  # the random walk: a step of 0.2 % (standard deviation) per check


@dataclass
class User:
    chat_id: int
    user_id: int
    chat_type: str
    rng: random.Random
    alerts: int = 0  # as last counted from /alerts (approximately)
    actions: dict[str, int] = field(default_factory=dict)


class Load:
    """The fakes, the moving prices and the users' actions."""

    def __init__(self, telegram: FakeTelegram, exchange: FakeExchange, streams: FakeStreams,
                 rest: FakeBinanceRest, seed: int = 1) -> None:
        self.telegram, self.exchange, self.streams, self.rest = telegram, exchange, streams, rest
        self.rng = random.Random(seed)
        usdt = sorted(s for s, p in exchange.prices.items() if s.endswith("USDT") and Decimal(p) > 0)
        self.symbols = self.rng.sample(usdt, 40)
        self.timeouts = 0
        self.replies = 0

    async def walk_prices(self) -> None:
        """Each symbol's price takes a random step every check, at the price's own precision."""
        while True:
            for symbol in self.symbols:
                old = Decimal(self.exchange.prices[symbol])
                factor = Decimal(str(round(1 + self.rng.gauss(0, STEP), 6)))
                new = (old * factor).quantize(old)
                if new <= 0:
                    new = old
                self.exchange.set_price(symbol, str(new))
                self.rest.prices[symbol] = str(new)
                self.streams.trade(symbol, new)
            await asyncio.sleep(POLL_INTERVAL)

    async def trim_fakes(self) -> None:
        """The fakes record everything; this benchmark measures the bot, so they forget what is read."""
        while True:
            await asyncio.sleep(60)
            for sent in self.telegram.sent:
                sent.photo = None
            del self.telegram.calls[:]
            self.exchange.received.clear()

    # -- one user -------------------------------------------------------------------------
    async def ask(self, user: User, text: str) -> Sent | None:
        """Sends a command and waits for the bot's first message to that chat after it."""
        after = len(self.telegram.sent)
        await self.telegram.user_sends(user.chat_id, text, user_id=user.user_id, chat_type=user.chat_type)
        return await self.reply(user, after)

    async def press(self, user: User, sent: Sent, data: str) -> None:
        query = await self.telegram.press_button(sent, data, user_id=user.user_id)
        try:
            await self.telegram.wait_for_answer(query, timeout=15)
        except TimeoutError:
            self.timeouts += 1

    async def reply(self, user: User, after: int) -> Sent | None:
        try:
            sent = await self.telegram.wait_for_message(user.chat_id, timeout=15, after=after)
        except TimeoutError:
            self.timeouts += 1
            return None
        self.replies += 1
        return sent

    def price(self, symbol: str) -> Decimal:
        return Decimal(self.exchange.prices[symbol])

    def alert_command(self, user: User) -> str:
        rng = user.rng
        symbol = rng.choice(self.symbols)
        price = self.price(symbol)
        near = (price * Decimal(str(1 + rng.choice([-1, 1]) * rng.uniform(0.002, 0.02)))).quantize(price)
        return rng.choice([
            f"/alert {symbol} {near}",
            f"/alert {symbol} above {near}",
            f"/alert {symbol} below {near} stop <loss> & more",
            f"/alert {symbol.lower()} +1%",
            f"/alert {symbol} -0.5%",
            f"/alert {symbol} ±1%",
            f"/alert {symbol} 0.5% 1m",
            f"/alert {symbol} 1% 5m pump?",
            f"/alert {symbol} 3% 15m",
            f"/alert {symbol} 2% 1h",
            f"/alert {symbol} {near} every 1m margin 0.1%",
            f"/alert {symbol} {near} every 5m",
            f"/alert {symbol} {near} for 2m",
            f"/alert {symbol} {near} for 1h note {rng.randrange(10**6)}",
            f"/alert {symbol} 1% 15m every 1m",
        ])

    async def act(self, user: User) -> None:
        """One thing a user does, weighted so that alerts are created about as fast as they go."""
        rng = user.rng
        if user.alerts < KEEP_ALERTS[0]:
            choice = "create"
        elif user.alerts > KEEP_ALERTS[1]:
            choice = "delete_listed"
        else:
            choice = rng.choices(
                ["create", "list", "notification", "delete_listed", "delete_command", "price", "chart",
                 "pause", "language"],
                weights=[30, 15, 20, 10, 5, 8, 4, 2, 1])[0]
        user.actions[choice] = user.actions.get(choice, 0) + 1
        if choice == "create":
            reply = await self.ask(user, self.alert_command(user))
            if reply is not None and "#" in reply.plain:
                user.alerts += reply.plain.count("✅")
        elif choice == "list":
            reply = await self.ask(user, "/alerts")
            if reply is not None:
                pages = [b["callback_data"] for b in reply.buttons() if b.get("callback_data", "").startswith("page:")]
                user.alerts = max(len([b for b in reply.buttons() if b.get("callback_data", "").startswith("del:")]),
                                  user.alerts if pages else 0)
                if pages:
                    await self.press(user, reply, rng.choice(pages))
        elif choice == "notification":
            notices = [m for m in self.telegram.sent[-300:] if m.chat_id == user.chat_id and "🔔" in m.plain]
            buttons = [(m, b["callback_data"]) for m in notices[-5:] for b in m.buttons() if "callback_data" in b]
            if buttons:
                sent, data = rng.choice(buttons)
                if data.startswith("ndel:"):
                    user.alerts = max(0, user.alerts - 1)
                await self.press(user, sent, data)
        elif choice == "delete_listed":
            reply = await self.ask(user, "/alerts")
            deletes = [b["callback_data"] for b in (reply.buttons() if reply else []) if
                       b.get("callback_data", "").startswith("del:")]
            for data in rng.sample(deletes, min(len(deletes), rng.randint(1, 4))):
                await self.press(user, reply, data)  # type: ignore[arg-type]
                user.alerts = max(0, user.alerts - 1)
        elif choice == "delete_command":
            reply = await self.ask(user, "/alerts")
            deletes = [b["callback_data"] for b in (reply.buttons() if reply else []) if
                       b.get("callback_data", "").startswith("del:")]
            alert_id = rng.choice(deletes).split(":")[1] if deletes else str(rng.randint(1, 10**6))
            await self.ask(user, f"/delete {alert_id}")
            user.alerts = max(0, user.alerts - (1 if deletes else 0))
        elif choice == "price":
            if rng.random() < 0.5:
                reply = await self.ask(user, "/price " + " ".join(rng.sample(self.symbols, rng.randint(2, 5))))
            else:
                reply = await self.ask(user, f"/price {rng.choice(self.symbols)}")
                charts = [b["callback_data"] for b in (reply.buttons() if reply else []) if
                          b.get("callback_data", "").startswith("chart:")]
                if charts and rng.random() < 0.3:
                    await self.press(user, reply, charts[0])  # type: ignore[arg-type]
        elif choice == "chart":
            interval = rng.choice(["1m", "5m", "15m", "1h", "4h", "1d"])
            await self.ask(user, f"/chart {rng.choice(self.symbols)} {interval}")
        elif choice == "pause":
            await self.ask(user, "/pause")
            await asyncio.sleep(rng.uniform(1, 5))
            await self.ask(user, "/resume")
        elif choice == "language":
            await self.ask(user, f"/language {rng.choice(['en', 'zh'])}")

    async def run_user(self, user: User) -> None:
        await self.ask(user, "/start")
        while True:
            await asyncio.sleep(user.rng.uniform(*ACTION_PAUSE))
            try:
                await self.act(user)
            except Exception as exc:  # a benchmark keeps going; the count tells
                print(f"user {user.chat_id}: {type(exc).__name__}: {exc}", file=sys.stderr)


def status_kib(pid: int, name: str) -> int:
    """A size from /proc/PID/status: VmRSS, or its parts RssAnon (memory the process wrote)
    and RssFile (pages of its program and libraries, read in as code paths are first used)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {name} for process {pid}")


def private_kib(pid: int) -> int:
    """Memory only this process uses (USS: private pages), what its end would free; unlike PSS,
    it does not change with the other processes that share its libraries."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    except OSError:  # the process ended meanwhile
        return 0
    return sum(int(line.split()[1]) for line in rollup if line.startswith(("Private_Clean:", "Private_Dirty:")))


async def snapshot(process: asyncio.subprocess.Process, folder: Path, number: int) -> Path:
    """Asks the bot for a tracemalloc snapshot (SIGUSR1) and waits until it is written."""
    target = folder / f"snapshot-{number}.pickle"
    process.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 300
    while not target.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {target} after 300 s")
        await asyncio.sleep(0.5)
    return target


def print_growth(first: Path, last: Path, top: int = 25) -> None:
    before = tracemalloc.Snapshot.load(str(first))
    after = tracemalloc.Snapshot.load(str(last))
    print(f"\ntracemalloc: traced {sum(s.size for s in before.statistics('filename')) / 2**20:.1f} MiB at "
          f"minute 5, {sum(s.size for s in after.statistics('filename')) / 2**20:.1f} MiB at the end")
    print(f"top {top} growers between the two snapshots, by file:line:")
    for stat in after.compare_to(before, "lineno")[:top]:
        frame = stat.traceback[0]
        print(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks  {frame.filename}:{frame.lineno}")
    if len(after.traces) and len(after.traces[0].traceback) > 1:
        print("\ntheir callers (top 8 by traceback):")
        for stat in after.compare_to(before, "traceback")[:8]:
            print(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks")
            for line in stat.traceback.format(limit=8, most_recent_first=True):
                print("      " + line)


async def run(minutes: float, database_url: str, trace: bool, workdir: Path,
              first_snapshot_at: float = FIRST_SNAPSHOT_AT, keep_log: Path | None = None) -> None:
    if database_url.startswith("postgresql"):
        await _reset_postgres(database_url)
    exchange, telegram, streams, rest = FakeExchange(), FakeTelegram(), FakeStreams(), FakeBinanceRest()
    await exchange.start()
    await telegram.start()
    await streams.start()
    await rest.start()
    telegram.group_admins[GROUP_ID] = {GROUP_ADMIN}
    load = Load(telegram, exchange, streams, rest)
    env = bot_env(telegram, exchange, database_url)
    metrics = f"127.0.0.1:{free_port()}"
    env.update(POLL_INTERVAL=str(POLL_INTERVAL), BINANCE_STREAM_URL=streams.url_for(COMBINED),
               BINANCE_REST_URL=rest.url, COMMANDS_PER_MINUTE="60", ADMIN_IDS="", METRICS_LISTEN=metrics)
    trace_dir = workdir / "tracemalloc"
    if trace:
        env.update(PRICEALERT_TRACEMALLOC=str(trace_dir), PRICEALERT_TRACEMALLOC_FRAMES="6")
    log_path = workdir / "bot.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", cwd=workdir, env=env,
                                                       stderr=log)
    print(f"bot pid {process.pid}, log {log_path}, database {database_url}", flush=True)
    tasks: list[asyncio.Task[None]] = []
    users: list[User] = []
    cpu = 0.0  # the bot's CPU seconds over the run
    samples: list[tuple[float, int, int, int]] = []  # (seconds, the bot's RSS, its children's USS, its RssAnon)
    snapshots: list[Path] = []
    try:
        await exchange.wait_for_requests(1, timeout=120)
        started, cpu_at_start = time.monotonic(), cpu_seconds(process.pid)
        tasks.append(asyncio.create_task(load.walk_prices()))
        tasks.append(asyncio.create_task(load.trim_fakes()))
        users += [User(1001 + i, 1001 + i, "private", random.Random(100 + i)) for i in range(USERS - 1)]
        users.append(User(GROUP_ID, GROUP_ADMIN, "supergroup", random.Random(200)))
        tasks += [asyncio.create_task(load.run_user(user)) for user in users]
        end = started + minutes * 60
        next_sample = started
        while True:
            now = time.monotonic()
            if process.returncode is not None:
                raise RuntimeError(f"the bot exited with {process.returncode}: see {log_path}")
            if trace and not snapshots and now - started >= first_snapshot_at:
                snapshots.append(await snapshot(process, trace_dir, 1))
            if now >= next_sample:
                rss, anon = status_kib(process.pid, "VmRSS"), status_kib(process.pid, "RssAnon")
                children = sum(private_kib(child) for child in descendants(process.pid))
                samples.append((now - started, rss, children, anon))
                moves = await move_history(metrics)
                print(f"{(now - started) / 60:6.1f} min  RSS {rss / 1024:7.2f} MiB (anonymous {anon / 1024:7.2f})   "
                      f"children (USS) "
                      f"{children / 1024:6.2f} MiB   replies {load.replies}, timeouts {load.timeouts}, "
                      f"messages {len(telegram.sent)}, move history {moves}", flush=True)
                next_sample += SAMPLE_EVERY
            if now >= end:
                break
            await asyncio.sleep(min(next_sample, end) - now + 0.01)
        cpu = cpu_seconds(process.pid) - cpu_at_start
        if trace:
            snapshots.append(await snapshot(process, trace_dir, len(snapshots) + 1))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 60)
            except TimeoutError:
                process.kill()
        for fake in (rest, streams, telegram, exchange):
            await fake.stop()
    report(samples, minutes)
    actions: dict[str, int] = {}
    for user in users:
        for name, count in user.actions.items():
            actions[name] = actions.get(name, 0) + count
    print("user actions: " + ", ".join(f"{name} {count}" for name, count in sorted(actions.items())))
    print(f"bot messages {len(telegram.sent)}, notifications {sum('🔔' in m.plain for m in telegram.sent)}, "
          f"replies awaited {load.replies}, timeouts {load.timeouts}, Telegram errors {len(telegram.rejected)}")
    refused: dict[str, int] = {}
    for method, status, description in telegram.rejected:
        refused[f"{method} {status} {description[:60]}"] = refused.get(f"{method} {status} {description[:60]}", 0) + 1
    for what, count in sorted(refused.items(), key=lambda item: -item[1])[:5]:
        print(f"  {count} x {what}")
    if samples:
        print(f"bot CPU: {cpu:.0f} s in {samples[-1][0] / 60:.0f} min ({cpu / max(samples[-1][0], 1) * 100:.1f} % of one core)")
    logged = log_path.read_text(errors="replace")
    print(f"bot log: {logged.count(' WARNING ')} warnings, {logged.count(' ERROR ')} errors, "
          f"{logged.count('Traceback')} tracebacks")
    if keep_log is not None:
        keep_log.write_text(logged)
    if len(snapshots) == 2:
        print_growth(*snapshots)


async def move_history(metrics: str) -> str:
    """The bot's largest structure that fills with time: prices kept for move alerts (entries,
    about 200 bytes each), for up to the longest window asked (here 1 hour)."""
    try:
        _, text = await get_page(f"http://{metrics}/metrics")
    except aiohttp.ClientError as exc:
        return f"unknown ({exc.__class__.__name__})"
    entries = metric_samples(text).get("pricealert_move_history_entries")
    return "unknown" if entries is None else f"{entries:.0f}"


def report(samples: list[tuple[float, int, int, int]], minutes: float) -> None:
    if not samples:
        return
    print("\nover time (MiB):  bot's RSS  its anonymous part  children's USS")
    for at, rss, children, anon in samples:
        if at % 300 < SAMPLE_EVERY or at == samples[-1][0]:
            print(f"  {at / 60:5.1f} min  {rss / 1024:9.2f}  {anon / 1024:9.2f}  {children / 1024:9.2f}")
    last_at = samples[-1][0]
    window = min(20 * 60, last_at)
    recent = [sample for sample in samples if sample[0] >= last_at - window - 1]
    for column, name in ((1, "RSS growth"), (3, "anonymous RSS growth"), (2, "children's growth (USS)")):
        first, last = recent[0][column], recent[-1][column]
        peak = max(sample[column] for sample in recent)
        slope = trend([(sample[0], sample[column]) for sample in recent]) * 3600 / 1024
        print(f"{name} over the last {window / 60:.0f} minutes: {(last - first) / 1024:+.2f} MiB "
              f"({first / 1024:.2f} -> {last / 1024:.2f} MiB, peak {peak / 1024:.2f} MiB; "
              f"least-squares trend {slope:+.2f} MiB per hour)")


def trend(points: list[tuple[float, int]]) -> float:
    """The least-squares slope of the samples (KiB per second): what one sample's noise does not move."""
    if len(points) < 2:
        return 0.0
    mean_at = sum(at for at, _ in points) / len(points)
    mean_value = sum(value for _, value in points) / len(points)
    spread = sum((at - mean_at) ** 2 for at, _ in points)
    return sum((at - mean_at) * (value - mean_value) for at, value in points) / spread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--database", default="", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="snapshot the bot's allocations at minute 5 and at the end, and print the growth")
    parser.add_argument("--log", type=Path, help="keep the bot's log (stderr) in this file")
    parser.add_argument("--first-snapshot", type=float, default=FIRST_SNAPSHOT_AT, help=argparse.SUPPRESS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pricealert-memory-") as directory:
        workdir = Path(directory)
        database = args.database or f"sqlite+aiosqlite:///{workdir / 'pricealert.db'}"
        if args.tracemalloc and args.minutes * 60 <= args.first_snapshot:
            parser.error("--tracemalloc needs more than 5 minutes")
        asyncio.run(run(args.minutes, database, args.tracemalloc, workdir, args.first_snapshot, args.log))


if __name__ == "__main__":
    main()
