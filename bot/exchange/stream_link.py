"""One connection of the market-stream reader (bot.exchange.streams) and the streams assigned to it.

It keeps its connection open (reconnecting with backoff, renewing before Binance's 24 hours),
sends SUBSCRIBE and UNSUBSCRIBE for what its reader wants (paced under Binance's 10 messages a
second), hands every kline to the reader's sink, and keeps the watchdog's per-connection state.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import websockets
from websockets.asyncio.client import ClientConnection, connect

log = logging.getLogger("bot.exchange.streams")  # one logger for the reader and its connections

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def stream_name(symbol: str) -> str:
    """`BTCUSDT` -> `btcusdt@kline_1m`; only ASCII letters are lower-cased (`币安人生usdt@kline_1m`)."""
    return symbol.translate(_ASCII_LOWER) + "@kline_1m"


@dataclass(frozen=True)
class StreamOptions:
    streams_per_connection: int = 1024  # Binance's limit per connection
    names_per_message: int = 100  # names in one SUBSCRIBE/UNSUBSCRIBE, kept modest (older limits said 200)
    # Our control messages on one connection go out at most 5 a second, half of Binance's 10, which
    # leaves room for pongs and our own pings.
    control_interval: float = 0.2
    silence_after: float = 10.0  # a symbol whose price moved and whose stream said nothing this long is silent
    open_timeout: float = 10.0
    ping_interval: float = 30.0  # our own pings find a dead connection
    max_connection_age: float = 23 * 3600  # the server ends a connection at 24 h; renew before
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    refused_every: float = 600.0  # the ERROR about a 451/403 at most this often
    refused_retry_after: float = 60.0  # a name the server refused is asked for again after this long


class Reader(Protocol):
    """What a connection reads of its reader (bot.exchange.streams.KlineStreams), and tells it."""

    url: str
    options: StreamOptions
    symbols: dict[str, str]  # stream name -> symbol, for everything watched
    ids: Iterator[int]  # request ids, unique across the reader's connections
    background: set[asyncio.Task[None]]  # closings in flight, kept referenced

    def heard(self, name: str, symbol: str, bar_start: int, high: str, low: str) -> None: ...
    def set_down(self, reason: str) -> None: ...
    def check_up(self) -> None: ...


class StreamLink:
    """One connection and the streams assigned to it (at most `streams_per_connection`)."""

    def __init__(self, reader: Reader, number: int) -> None:
        self.reader = reader
        self.number = number
        self.wanted: set[str] = set()
        self.subscribed: set[str] = set()  # SUBSCRIBE sent on the current connection
        self.refused: dict[str, float] = {}  # name -> monotonic time it may be asked for again
        self.connection: ClientConnection | None = None
        self.connected_at = 0.0
        self.changed = asyncio.Event()
        self.failures = 0
        self.next_attempt_at = 0.0
        self.heard_any = False  # has the current connection delivered a kline?
        self.acked = False  # has the current connection acknowledged a subscription?
        self.stage = 0  # watchdog: 0 fine, 1 resubscribed, 2+ reconnected, and still silent
        self.silent: set[str] = set()
        self.pending: dict[int, tuple[str, list[str]]] = {}
        self.last_control_at = 0.0
        self.task: asyncio.Task[None] | None = None
        self.stopping = False

    @property
    def label(self) -> str:
        return f"market stream #{self.number}"

    def start(self) -> None:
        if self.task is None or self.task.done():
            self.stopping = False
            self.task = asyncio.get_running_loop().create_task(self._keep_running(), name=f"kline-stream-{self.number}")

    async def stop(self) -> None:
        self.stopping = True
        self.changed.set()
        if self.connection is not None:
            await self.connection.close()
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None

    # -- connecting ------------------------------------------------------------------------
    async def _keep_running(self) -> None:
        """A bug in here must not end wick watching for good: log it, wait, carry on."""
        while not self.stopping:
            try:
                await self._run()
            except Exception:
                log.exception("%s failed; starting over", self.label)
                self._backoff()

    async def _run(self) -> None:
        options = self.reader.options
        while not self.stopping:
            if not self.wanted:
                self.changed.clear()
                await self.changed.wait()
                continue
            wait = self.next_attempt_at - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            try:
                connection = await connect(
                    self.reader.url, open_timeout=options.open_timeout, ping_interval=options.ping_interval,
                    ping_timeout=options.ping_interval, close_timeout=2, max_size=2**20,
                )
            except websockets.InvalidStatus as exc:
                self._refused_handshake(exc.response.status_code, exc.response.body)
                continue
            except (OSError, TimeoutError, websockets.InvalidHandshake, websockets.InvalidURI) as exc:
                self.reader.set_down(f"cannot connect to {self.reader.url}: {exc!r}")
                self._backoff()
                continue
            log.info("%s connected to %s", self.label, self.reader.url)
            self.connection, self.connected_at = connection, time.monotonic()
            self.subscribed, self.pending, self.heard_any, self.acked = set(), {}, False, False
            try:
                await self._session(connection)
            finally:
                self.connection = None
                self.subscribed = set()
                await connection.close()

    def _refused_handshake(self, status: int, body: bytes | None) -> None:
        reader = self.reader
        if status in (451, 403):
            cause = ("Binance does not serve this location (HTTP 451)" if status == 451
                     else "a firewall in front of Binance refused this client (HTTP 403)")
            now = time.monotonic()
            if now - reader.refused_logged_at >= reader.options.refused_every or reader.refused_logged_at == 0.0:
                reader.refused_logged_at = now
                detail = (body or b"").decode("utf-8", "replace")[:200].strip()
                log.error("%s refused by %s: %s%s. Wicks between checks are not watched; alerts still fire "
                          "from last prices. Run the bot where Binance serves, or set BINANCE_STREAM_URL= "
                          "(empty) to turn wick watching off.", self.label, reader.url, cause,
                          f" ({detail})" if detail else "")
            reader.set_down(f"HTTP {status} on the handshake")
            self.failures = max(self.failures, 64)  # retrying soon changes nothing: wait the longest backoff
            self._backoff()
            return
        reader.set_down(f"HTTP {status} on the handshake")
        self._backoff()

    def _backoff(self) -> None:
        options = self.reader.options
        self.failures += 1
        delay = min(options.backoff_cap, options.backoff_base * 2 ** min(self.failures - 1, 30))
        delay *= random.uniform(0.5, 1.0)  # jitter, so many bots do not reconnect in step
        self.next_attempt_at = time.monotonic() + delay
        log.warning("%s: connection failed %d time(s); next attempt in %.1f s", self.label, self.failures, delay)

    async def _session(self, connection: ClientConnection) -> None:
        writer = asyncio.get_running_loop().create_task(self._write(connection), name=f"kline-control-{self.number}")
        try:
            async for text in connection:
                self._on_message(text)
        except websockets.ConnectionClosed:
            pass
        finally:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
        if self.stopping or not self.wanted:
            return
        reason = f"code {connection.close_code} {connection.close_reason or ''}".strip()
        log.warning("%s lost (%s)", self.label, reason)
        if not self.heard_any:
            self._backoff()  # it delivered nothing: do not reconnect in a tight loop
        self.reader.set_down(f"connection lost ({reason})")

    # -- control messages ------------------------------------------------------------------
    async def _write(self, connection: ClientConnection) -> None:
        options = self.reader.options
        while True:
            age_left = options.max_connection_age - (time.monotonic() - self.connected_at)
            if age_left <= 0:
                log.info("%s: renewing the connection before the server's 24 h limit", self.label)
                await connection.close(1000, "renewal")
                return
            if not self.wanted:
                await connection.close(1000, "nothing to watch")
                return
            wait = self.last_control_at + options.control_interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            message = self._next_control()
            if message is None:
                self.changed.clear()
                try:
                    await asyncio.wait_for(self.changed.wait(), timeout=min(age_left, self._next_refused_retry()))
                except TimeoutError:
                    pass
                continue
            self.last_control_at = time.monotonic()
            await connection.send(json.dumps(message, separators=(",", ":"), ensure_ascii=False))

    def _next_refused_retry(self) -> float:
        if not self.refused:
            return 3600.0
        return max(0.05, min(self.refused.values()) - time.monotonic())

    def _next_control(self) -> dict[str, Any] | None:
        """The next SUBSCRIBE or UNSUBSCRIBE this connection needs, marked as sent; None when in step."""
        reader, batch_size = self.reader, self.reader.options.names_per_message
        gone = self.subscribed - self.wanted
        if gone:
            names = sorted(gone)[:batch_size]
            self.subscribed.difference_update(names)
            return self._control("UNSUBSCRIBE", names)
        now = time.monotonic()
        for name, retry_at in list(self.refused.items()):
            if retry_at <= now or name not in self.wanted:
                del self.refused[name]
        new = self.wanted - self.subscribed - self.refused.keys()
        if not new:
            return None
        names = sorted(new)[:batch_size]
        self.subscribed.update(names)
        for name in names:
            reader.subscribing(name)
        return self._control("SUBSCRIBE", names)

    def _control(self, method: str, names: list[str]) -> dict[str, Any]:
        request_id = next(self.reader.ids)
        self.pending[request_id] = (method, names)
        return {"method": method, "params": names, "id": request_id}

    # -- what arrives ----------------------------------------------------------------------
    def _on_message(self, text: str | bytes) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            log.warning("%s: ignoring a frame that is not JSON: %.80r", self.label, text)
            return
        if not isinstance(message, dict):
            return
        data = message.get("data")
        if isinstance(data, dict):  # combined stream: {"stream": name, "data": payload}
            name = message.get("stream")
        else:
            data = message
            name = None
        if data.get("e") == "kline":
            self._on_kline(name, data)
        elif "id" in message:
            self._on_answer(message)

    def _on_kline(self, name: Any, data: dict[str, Any]) -> None:
        try:
            kline = data["k"]
            if not isinstance(name, str):  # the raw path names no stream
                name = stream_name(data["s"])
            bar_start, high, low = int(kline["t"]), kline["h"], kline["l"]
        except (KeyError, TypeError, ValueError):
            log.warning("%s: ignoring a malformed kline update", self.label)
            return
        symbol = self.reader.symbols.get(name)
        if symbol is None or name not in self.subscribed:
            return  # unsubscribed meanwhile
        self.heard_any = True
        self.failures = 0
        try:
            self.reader.heard(name, symbol, bar_start, high, low)
        except (ArithmeticError, ValueError, TypeError):  # a price that is not a decimal string
            log.warning("%s: ignoring a kline update with unreadable prices: h=%.40r l=%.40r", self.label, high, low)

    def _on_answer(self, message: dict[str, Any]) -> None:
        request_id = message.get("id")
        request = self.pending.pop(request_id, None) if isinstance(request_id, int) else None
        error = message.get("error") if isinstance(message.get("error"), dict) else None
        if error is None and "code" in message:
            error = message  # errors come flat ({"code", "msg", "id"}) or nested ({"error": {...}, "id"})
        if error is None:
            if request is not None and request[0] == "SUBSCRIBE":
                self.acked = True
                self.reader.check_up()
            return
        method, names = request if request is not None else ("?", [])
        log.warning("%s: %s refused (code %s: %s) for %d stream(s), e.g. %s", self.label, method,
                    error.get("code"), error.get("msg"), len(names), names[:3])
        if method == "SUBSCRIBE":
            retry_at = time.monotonic() + self.reader.options.refused_retry_after
            for name in names:
                self.subscribed.discard(name)
                self.refused[name] = retry_at
            self.changed.set()

    # -- watchdog ---------------------------------------------------------------------------
    def silence(self, names: list[str], quiet_for: float) -> None:
        """Subscribed streams of this connection said nothing while their prices moved."""
        reader = self.reader
        self.silent.update(names)
        example = ", ".join(reader.symbols[name] for name in names[:3])
        if self.stage == 0:
            log.warning("%s: no kline update for %d symbol(s) (%s) in %.0f s while their prices moved; "
                        "subscribing again", self.label, len(names), example, quiet_for)
            self.subscribed.difference_update(names)
            self.changed.set()
        else:
            level = logging.WARNING if self.stage == 1 else logging.ERROR
            log.log(level, "%s: still no kline update for %d symbol(s) (%s) after %s; reconnecting. "
                    "If this lasts, check BINANCE_STREAM_URL (the retired /ws and /stream paths acknowledge "
                    "subscriptions and then send nothing; use .../market/stream)", self.label, len(names),
                    example, "subscribing again" if self.stage == 1 else "reconnecting")
            if self.stage >= 2:
                self.heard_any = False  # reconnecting did not help: the next one waits its backoff
            if self.connection is not None:
                closing = asyncio.get_running_loop().create_task(self.connection.close(1000, "silent"))
                self.reader.background.add(closing)
                closing.add_done_callback(self.reader.background.discard)
        self.stage += 1
        reader.set_down(f"{len(names)} stream(s) silent")

    def recovered(self) -> None:
        log.info("%s: kline updates flow again", self.label)
        self.stage, self.silent = 0, set()
