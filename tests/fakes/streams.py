"""A local Binance futures market-stream server (`<symbol>@kline_1m`) that speaks the real protocol.

Paths: `/market/stream` (combined: `{"stream", "data"}`) and `/market/ws` (raw payloads); the
retired `/ws` and `/stream` accept connections and acknowledge SUBSCRIBE, then send nothing,
as Binance's do since 2026-04-23. Control messages: SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS.
More than 10 incoming messages in a second close the connection with 1008; more than 1,024
streams on one connection are refused with an error answer. Unknown names are acknowledged and
stay silent.

Prices move by trades (`trade`, `path`), each with its time; a symbol's 1-minute bars (`h`/`l`
over the whole minute, trades before a subscription included) are computed from them. Every
250 ms each connection gets an update of each subscribed symbol whose current bar changed since
the last one it was sent.

`!markPrice@arr@1s` (the all-market mark price stream) is pushed every `mark_interval` seconds to
each connection subscribed to it, from `marks` (tests/fakes/marks.py: arrays of entries with
string numbers, TradFi symbols in a message of their own, `r` "" for delivery contracts).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from tests.fakes.exchange import initial_prices
from tests.fakes.marks import FakeMarks

MARK_STREAMS = {"!markPrice@arr@1s": 1.0, "!markPrice@arr": 3.0}  # name -> Binance's push interval

COMBINED, RAW = "/market/stream", "/market/ws"
RETIRED = {"/stream": True, "/ws": False}  # path -> combined?
PATHS = {COMBINED: True, RAW: False, **RETIRED}
MAX_STREAMS = 1024
MAX_MESSAGES_PER_SECOND = 10
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def kline_name(symbol: str) -> str:
    return symbol.translate(_LOWER) + "@kline_1m"


@dataclass
class Bar:
    start: int  # ms
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    trades: int = 0
    first_id: int = 0
    last_id: int = 0

    def add(self, price: Decimal, trade_id: int) -> None:
        self.high, self.low, self.close = max(self.high, price), min(self.low, price), price
        self.trades += 1
        self.last_id = trade_id

    def state(self) -> tuple[Any, ...]:
        return (self.start, self.high, self.low, self.close, self.trades)


@dataclass
class _Client:
    ws: ServerConnection
    path: str
    combined: bool
    retired: bool
    streams: set[str] = field(default_factory=set)
    ever: set[str] = field(default_factory=set)  # every stream it subscribed, even if unsubscribed since
    sent: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # name -> bar state last sent
    muted: set[str] = field(default_factory=set)  # subscribed but stuck: nothing is sent until resubscribed
    quiet: bool = False  # the whole connection stuck (a proxy that buffers, a broken server)
    arrivals: deque[float] = field(default_factory=deque)


@dataclass
class Control:
    at: float
    path: str
    message: Any


@dataclass
class FakeStreams:
    prices: dict[str, str] = field(default_factory=initial_prices)  # which symbols exist (and their start)
    push_interval: float = 0.25
    error_style: str = "flat"  # errors as {"code", "msg", "id"} or "nested" {"error": {...}, "id"}
    url: str = ""  # the combined-stream URL the bot should use
    port: int = 0
    received: list[Control] = field(default_factory=list)
    close_codes: list[int | None] = field(default_factory=list)  # as the server saw them, in order
    updates_sent: int = 0
    handshakes: int = 0
    marks: FakeMarks = field(default_factory=FakeMarks.from_prices)
    mark_interval: float | None = None  # seconds between mark pushes; None: Binance's (1 s or 3 s)
    marks_quiet: bool = False  # the mark stream stops (the connection stays open)
    mark_messages_sent: int = 0
    _refuse: tuple[int, str] | None = None
    _bars: dict[str, dict[int, Bar]] = field(default_factory=dict)  # symbol -> minute start -> bar
    _trade_ids: int = 0
    _clients: list[_Client] = field(default_factory=list)
    connections: list[_Client] = field(default_factory=list)  # every connection since start, open or closed
    _server: Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    # -- life cycle -------------------------------------------------------------------------
    async def start(self, port: int = 0) -> str:
        self._server = await serve(self._handle, "127.0.0.1", port, process_request=self._check_handshake,
                                   ping_interval=None)
        self.port = self._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = self.url_for(COMBINED)
        return self.url

    def url_for(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def restart(self) -> None:
        await self.start(self.port)

    # -- what tests do ----------------------------------------------------------------------
    def trade(self, symbol: str, price: str | Decimal, at: float | None = None) -> None:
        """One trade at `at` (epoch seconds, default now; may be in the past)."""
        at = time.time() if at is None else at
        value = Decimal(price)
        start = int(at // 60) * 60_000
        bars = self._bars.setdefault(symbol, {})
        self._trade_ids += 1
        bar = bars.get(start)
        if bar is None:
            bar = bars[start] = Bar(start, value, value, value, value, first_id=self._trade_ids)
        bar.add(value, self._trade_ids)
        self.prices[symbol] = str(value)

    def path(self, symbol: str, steps: list[tuple[float, str]]) -> asyncio.Task[None]:
        """Trades at `delay` seconds from now, in order; await the task to know they all happened."""
        async def run() -> None:
            started = time.monotonic()
            for delay, price in steps:
                await asyncio.sleep(max(0.0, started + delay - time.monotonic()))
                self.trade(symbol, price)
        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def refuse_handshakes(self, status: int, body: str) -> None:
        """Every handshake answered with this status (451 restricted location, 403 firewall) until cleared."""
        self._refuse = (status, body)

    def accept_handshakes(self) -> None:
        self._refuse = None

    def subscriptions(self, path: str | None = None) -> list[set[str]]:
        """The streams of each open connection (on `path`, or every path)."""
        return [set(c.streams) for c in self._clients if path is None or c.path == path]

    def sent_to(self) -> list[set[str]]:
        """The streams each open connection has been sent an update of since subscribing."""
        return [set(c.sent) for c in self._clients]

    def all_streams(self) -> set[str]:
        return set().union(*self.subscriptions())

    def kline_streams(self) -> set[str]:
        """What the open connections read for wicks: every stream but the mark price one."""
        return self.all_streams() - set(MARK_STREAMS)

    def connections_that_read(self, wanted: Callable[[str], bool]) -> int:
        """How many connections since start subscribed a stream `wanted` accepts (open or closed)."""
        return sum(1 for client in self.connections if any(wanted(name) for name in client.ever))

    def connections_reading(self, stream: str) -> int:
        return sum(1 for streams in self.subscriptions() if stream in streams)

    def controls(self, method: str | None = None) -> list[Control]:
        return [c for c in self.received if method is None or (isinstance(c.message, dict) and c.message.get("method") == method)]

    def mute(self, symbol: str) -> None:
        """The symbol's stream gets stuck on every connection: it says nothing until subscribed again."""
        for client in self._clients:
            client.muted.add(kline_name(symbol))

    def go_quiet(self) -> None:
        """Every open connection stops sending updates (but stays open and answers control messages)."""
        for client in self._clients:
            client.quiet = True

    async def send_raw(self, text: str) -> None:
        """A frame as is to every connection (malformed updates)."""
        for client in list(self._clients):
            await client.ws.send(text)

    async def close_all(self, code: int = 1001, reason: str = "going away") -> None:
        for client in list(self._clients):
            await client.ws.close(code, reason)

    async def ping_clients(self, timeout: float = 2.0) -> None:
        """Pings every client as Binance does every 3 minutes; fails if one does not pong."""
        for client in list(self._clients):
            pong = await client.ws.ping(b"binance")
            await asyncio.wait_for(pong, timeout)

    async def wait_for(self, condition: Any, timeout: float = 10.0) -> None:
        """Waits until `condition()` holds; re-checked on every connection, control message and push."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(condition), timeout)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- the protocol -----------------------------------------------------------------------
    def _check_handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path.split("?")[0] not in PATHS:
            return connection.respond(404, "Not Found\n")
        if self._refuse is not None:
            return connection.respond(*self._refuse)
        self.handshakes += 1
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        path = ws.request.path.split("?")[0]  # type: ignore[union-attr]
        client = _Client(ws, path, PATHS[path], path in RETIRED)
        self._clients.append(client)
        self.connections.append(client)
        pusher = asyncio.get_running_loop().create_task(self._push(client))
        marker = asyncio.get_running_loop().create_task(self._push_marks(client))
        await self._notify()
        try:
            async for text in ws:
                if not await self._count(client):
                    break
                await self._answer(client, text)
        except ConnectionClosed:
            pass
        finally:
            pusher.cancel()
            marker.cancel()
            await asyncio.gather(pusher, marker, return_exceptions=True)
            self._clients.remove(client)
            self.close_codes.append(ws.close_code)
            await self._notify()

    async def _count(self, client: _Client) -> bool:
        """Binance closes a connection that sends more than 10 messages in a second (1008)."""
        now = time.monotonic()
        client.arrivals.append(now)
        while client.arrivals and client.arrivals[0] <= now - 1.0:
            client.arrivals.popleft()
        if len(client.arrivals) > MAX_MESSAGES_PER_SECOND:
            await client.ws.close(1008, "Too many requests")
            return False
        return True

    async def _answer(self, client: _Client, text: str | bytes) -> None:
        try:
            request = json.loads(text)
            if not isinstance(request, dict):
                raise ValueError
        except ValueError:
            await self._error(client, None, 3, "Invalid JSON: expected value at line 1 column 1")
            return
        self.received.append(Control(time.time(), client.path, request))
        await self._notify()
        request_id, method, params = request.get("id"), request.get("method"), request.get("params", [])
        if not isinstance(request_id, int) or isinstance(request_id, bool) or request_id < 0:
            await self._error(client, request_id, 2, "Invalid request: request ID must be an unsigned integer")
            return
        if method == "LIST_SUBSCRIPTIONS":
            await self._send(client, {"result": sorted(client.streams), "id": request_id})
            return
        if method not in ("SUBSCRIBE", "UNSUBSCRIBE") or not isinstance(params, list) \
                or not all(isinstance(p, str) for p in params):
            await self._error(client, request_id, 2, f"Invalid request: unknown variant {method!r}")
            return
        if method == "SUBSCRIBE":
            if len(client.streams | set(params)) > MAX_STREAMS:
                await self._error(client, request_id, 2, f"Invalid request: too many streams (at most {MAX_STREAMS} a connection)")
                return
            client.streams.update(params)
            client.ever.update(params)
            for name in params:
                client.muted.discard(name)
                client.sent.pop(name, None)  # a fresh subscription gets the current bar
        else:
            client.streams.difference_update(params)
        await self._send(client, {"result": None, "id": request_id})
        await self._notify()

    async def _error(self, client: _Client, request_id: Any, code: int, msg: str) -> None:
        if self.error_style == "nested":
            await self._send(client, {"error": {"code": code, "msg": msg}, "id": request_id})
        else:
            await self._send(client, {"code": code, "msg": msg, "id": request_id})

    async def _send(self, client: _Client, message: dict[str, Any] | list[Any]) -> None:
        try:
            await client.ws.send(json.dumps(message, separators=(",", ":"), ensure_ascii=False))
        except ConnectionClosed:
            pass

    async def _push(self, client: _Client) -> None:
        symbols = {kline_name(symbol): symbol for symbol in self.prices}
        while True:
            await asyncio.sleep(self.push_interval)
            if client.retired or client.quiet:
                continue
            pushed = False
            for name in list(client.streams):
                symbol = symbols.get(name)
                if symbol is None:
                    symbol = next((s for s in self._bars if kline_name(s) == name), None)
                if symbol is None or name in client.muted or not self._bars.get(symbol):
                    continue  # unknown names are acknowledged and stay silent
                for bar in self._unsent(client.sent.get(name), self._bars[symbol]):
                    client.sent[name] = bar.state()
                    await self._send(client, self._update(client, name, symbol, bar))
                    self.updates_sent += 1
                    pushed = True
            if pushed:
                await self._notify()

    async def _push_marks(self, client: _Client) -> None:
        while True:
            names = [name for name in MARK_STREAMS if name in client.streams]
            interval = self.mark_interval or (MARK_STREAMS[names[0]] if names else 0.1)
            await asyncio.sleep(interval)
            if not names or client.retired or client.quiet or self.marks_quiet:
                continue
            for entries in self.marks.stream_entries():
                await self._send(client, {"stream": names[0], "data": entries} if client.combined else entries)  # type: ignore[arg-type]
                self.mark_messages_sent += 1
            await self._notify()

    @staticmethod
    def _unsent(sent: tuple[Any, ...] | None, bars: dict[int, Bar]) -> list[Bar]:
        """Only on change: the current bar, after the last state of the bar sent before it (its close)."""
        latest = bars[max(bars)]
        if sent is None:
            return [latest]  # a new subscription: the current bar
        unsent = [bars[start] for start in sorted(bars) if start >= sent[0] and bars[start].state() != sent]
        return unsent[-2:]  # the rest of the previous bar, then the current one

    @staticmethod
    def _update(client: _Client, name: str, symbol: str, bar: Bar) -> dict[str, Any]:
        now = int(time.time() * 1000)
        payload = {
            "e": "kline", "E": now, "s": symbol,
            "k": {"t": bar.start, "T": bar.start + 59_999, "s": symbol, "i": "1m", "f": bar.first_id, "L": bar.last_id,
                  "o": str(bar.open), "c": str(bar.close), "h": str(bar.high), "l": str(bar.low), "v": "1.0",
                  "n": bar.trades, "x": now >= bar.start + 60_000, "q": "1.0", "V": "0.5", "Q": "0.5", "B": "0"},
        }
        return {"stream": name, "data": payload} if client.combined else payload
