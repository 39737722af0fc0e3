"""A local Binance futures WebSocket API that speaks the real protocol, strictly.

It counts REQUEST_WEIGHT per calendar minute (2400), answers 429 when it is exceeded and
bans (418, then disconnects) a client that sends again before `retryAfter`. Tests move
prices with `set_price` and inject faults with the `fail_*` methods.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

WEIGHT_LIMIT = 2400
HANDSHAKE_WEIGHT = 5
PATH = "/ws-fapi/v1"
DATA = Path(__file__).resolve().parent.parent / "data"

# Real names that a strict symbol pattern would reject (shared/data/notable_symbols_2026.csv).
NOTABLE_SYMBOLS = {
    "BTCUSDC": "70123.4", "1000PEPEUSDT": "0.0123450", "1000000MOGUSDT": "1.23450",
    "1INCHUSDT": "0.4321", "BTCUSDT_261225": "71000.0", "币安人生USDT": "0.1234500",
    "HK0700USDT": "512.30", "XAUUSDT": "2650.11", "ETHBTC": "0.03500",
}


# What Binance answers from a restricted location (shared/binance-streams.md), and from its firewall.
RESTRICTED_BODY = {"code": 0, "msg": "Service unavailable from a restricted location according to 'b. "
                   "Eligibility' in https://www.binance.com/en/terms. Please contact customer service if you "
                   "believe you received this message in error."}
FORBIDDEN_BODY = {"code": 0, "msg": "Forbidden"}


def _json_response(status: int, body: dict[str, Any]) -> Response:
    data = json.dumps(body).encode()
    reason = {451: "Unavailable For Legal Reasons", 403: "Forbidden"}.get(status, "Error")
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return Response(status, reason, headers, data)


def initial_prices() -> dict[str, str]:
    entries = json.loads((DATA / "ticker_price_all_2021-07-22.json").read_text())
    prices = {entry["symbol"]: entry["price"] for entry in entries}
    prices.update(NOTABLE_SYMBOLS)
    return prices


@dataclass
class Received:
    at: float
    message: Any


@dataclass
class FakeExchange:
    prices: dict[str, str] = field(default_factory=initial_prices)
    url: str = ""
    port: int = 0
    received: list[Received] = field(default_factory=list)
    handshakes: int = 0  # accepted ones
    handshake_attempts: list[float] = field(default_factory=list)
    close_codes: list[int | None] = field(default_factory=list)  # as the server saw them
    weight_used: int = 0
    _minute: int = 0
    _blocked_until_ms: int = 0
    _faults: list[Callable[[ServerConnection, dict[str, Any]], Awaitable[bool]]] = field(default_factory=list)
    _refuse_handshakes: int = 0
    restricted: int | None = None  # 451 or 403: every handshake is refused, as from a blocked region
    _server: Server | None = None
    _connections: set[ServerConnection] = field(default_factory=set)
    _silent: set[ServerConnection] = field(default_factory=set)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    # -- life cycle -------------------------------------------------------------------------
    async def start(self, port: int = 0) -> str:
        self._server = await serve(self._handle, "127.0.0.1", port, process_request=self._check_handshake)
        self.port = self._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"ws://127.0.0.1:{self.port}{PATH}"
        return self.url

    async def stop(self) -> None:
        """Goes away like a server that is shut down: open connections are closed (1001)."""
        for ws in self._silent:  # a silent peer would never finish a close handshake
            ws.transport.abort()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def restart(self) -> None:
        await self.start(self.port)

    # -- what tests do ----------------------------------------------------------------------
    def set_price(self, symbol: str, price: str) -> None:
        self.prices[symbol] = price

    def ticker_requests(self) -> list[Received]:
        return [r for r in self.received if isinstance(r.message, dict) and r.message.get("method") == "ticker.price"]

    async def wait_for_requests(self, count: int, timeout: float = 10.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(self.ticker_requests()) >= count), timeout)

    def refuse_handshakes(self, count: int) -> None:
        self._refuse_handshakes = count

    def restrict(self, status: int | None = 451) -> None:
        """Refuses every handshake with `status` and Binance's JSON body (None: serves again)."""
        self.restricted = status

    def fail_next_with(self, status: int, code: int, msg: str, data: dict[str, Any] | None = None) -> None:
        async def fault(ws: ServerConnection, request: dict[str, Any]) -> bool:
            await self._error(ws, request.get("id"), status, code, msg, data)
            if status == 418:
                await ws.close()
            return True
        self._faults.append(fault)

    def answer_next_with(self, make: Callable[[Any], str]) -> None:
        """Sends `make(request_id)` instead of the answer (malformed frames)."""
        async def fault(ws: ServerConnection, request: dict[str, Any]) -> bool:
            await ws.send(make(request.get("id")))
            return True
        self._faults.append(fault)

    def delay_next(self, seconds: float) -> None:
        """Answers the next request late, while later requests are answered at once."""
        async def fault(ws: ServerConnection, request: dict[str, Any]) -> bool:
            async def late() -> None:
                await asyncio.sleep(seconds)
                await self._respond(ws, request)
            asyncio.get_running_loop().create_task(late())
            return True
        self._faults.append(fault)

    def use_weight(self, weight: int) -> None:
        """Weight used this minute by something else on the same IP (another program)."""
        self._spend(weight)

    async def go_silent(self) -> None:
        """The network under every open connection stops: no answers, no pongs, no close frame."""
        for ws in list(self._connections):
            ws.transport.pause_reading()
            self._silent.add(ws)

    async def ping_clients(self, timeout: float = 2.0) -> None:
        """Pings every client as Binance does every 3 minutes; fails if one does not pong."""
        for ws in list(self._connections):
            pong = await ws.ping(b"binance")
            await asyncio.wait_for(pong, timeout)

    async def announce_shutdown(self) -> None:
        for ws in list(self._connections):
            await ws.send(json.dumps({"event": {"e": "serverShutdown", "E": int(time.time() * 1000)}}))

    async def wait_for_connections(self, count: int, timeout: float = 10.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.handshakes >= count), timeout)

    def ignore_next(self) -> None:
        async def fault(ws: ServerConnection, request: dict[str, Any]) -> bool:
            return True
        self._faults.append(fault)

    def close_on_next(self, *, abort: bool = False) -> None:
        """Closes the connection instead of answering; `abort` drops TCP without a close frame."""
        async def fault(ws: ServerConnection, request: dict[str, Any]) -> bool:
            if abort:
                ws.transport.abort()
            else:
                await ws.close(1001, "going away")
            return True
        self._faults.append(fault)

    # -- the protocol -----------------------------------------------------------------------
    def _check_handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        self.handshake_attempts.append(time.monotonic())
        if request.path.split("?")[0] != PATH:
            return connection.respond(404, "Not Found\n")
        if self._refuse_handshakes > 0:
            self._refuse_handshakes -= 1
            return connection.respond(503, "Service Unavailable\n")
        if self.restricted is not None:
            return _json_response(self.restricted, RESTRICTED_BODY if self.restricted == 451 else FORBIDDEN_BODY)
        self.handshakes += 1
        self._spend(HANDSHAKE_WEIGHT)
        return None

    def _spend(self, weight: int) -> None:
        minute = int(time.time() // 60)
        if minute != self._minute:
            self._minute, self.weight_used = minute, 0
        self.weight_used += weight

    def _rate_limits(self) -> list[dict[str, Any]]:
        return [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                 "limit": WEIGHT_LIMIT, "count": self.weight_used}]

    async def _handle(self, ws: ServerConnection) -> None:
        self._connections.add(ws)
        async with self._changed:
            self._changed.notify_all()  # handshakes changed
        try:
            async for text in ws:
                await self._answer(ws, text)
        finally:
            self._connections.discard(ws)
            self.close_codes.append(ws.close_code)

    async def _answer(self, ws: ServerConnection, text: str | bytes) -> None:
        try:
            request = json.loads(text)
            if not isinstance(request, dict):
                raise ValueError
        except ValueError:
            await self._error(ws, None, 400, -1102, "Mandatory parameter 'method' was not sent, was empty/null, or malformed.")
            return
        async with self._changed:
            self.received.append(Received(time.time(), request))
            self._changed.notify_all()
        now_ms = int(time.time() * 1000)
        request_id = request.get("id")
        if now_ms < self._blocked_until_ms:
            # Sending during the 429 window is what gets an IP banned.
            await self._error(ws, request_id, 418, -1003,
                              f"Way too many requests; IP banned until {now_ms + 120_000}.",
                              {"serverTime": now_ms, "retryAfter": now_ms + 120_000})
            await ws.close()
            return
        if self._faults:
            if await self._faults.pop(0)(ws, request):
                return
        await self._respond(ws, request)

    async def _respond(self, ws: ServerConnection, request: dict[str, Any]) -> None:
        now_ms = int(time.time() * 1000)
        request_id = request.get("id")
        if not isinstance(request_id, (str, int)) or isinstance(request_id, bool):
            await self._error(ws, None, 400, -1102, "Mandatory parameter 'id' was not sent, was empty/null, or malformed.")
            return
        if request.get("method") != "ticker.price":
            await self._error(ws, request_id, 400, -1102, f"Unknown method {request.get('method')!r}.")
            return
        params = request.get("params") or {}
        symbol = params.get("symbol") if isinstance(params, dict) else None
        weight = 1 if symbol else 2
        if self.weight_used + weight > WEIGHT_LIMIT:
            retry_after = (now_ms // 60_000 + 1) * 60_000
            self._blocked_until_ms = retry_after
            await self._error(ws, request_id, 429, -1003, "Too many requests; current limit is 2400 requests per minute.",
                              {"serverTime": now_ms, "retryAfter": retry_after})
            return
        self._spend(weight)
        if symbol is not None:
            if symbol not in self.prices:
                await self._error(ws, request_id, 400, -1121, "Invalid symbol.")
                return
            result: Any = self._entry(symbol)
        else:
            result = [self._entry(s) for s in self.prices]
        await ws.send(json.dumps({"id": request_id, "status": 200, "result": result,
                                  "rateLimits": self._rate_limits()}, ensure_ascii=False))

    def _entry(self, symbol: str) -> dict[str, Any]:
        return {"symbol": symbol, "price": self.prices[symbol], "time": int(time.time() * 1000) - 1500}

    async def _error(self, ws: ServerConnection, request_id: Any, status: int, code: int, msg: str,
                     data: dict[str, Any] | None = None) -> None:
        error: dict[str, Any] = {"code": code, "msg": msg}
        if data:
            error["data"] = data
        await ws.send(json.dumps({"id": request_id, "status": status, "error": error,
                                  "rateLimits": self._rate_limits()}))
