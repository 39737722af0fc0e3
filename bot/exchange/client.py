"""One persistent connection to the Binance WebSocket API, shared by every request.

Requests are matched to answers by `id`, so a /price command may run during a tick. A dead
connection is rebuilt on the next request after a backoff, never in a tight loop: each
handshake costs 5 weight. After a 429 or 418 nothing is sent until the exchange says so,
whether the WebSocket API said it or the REST API did (`shared_block`: they share the IP's weight).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection, connect

from bot.metrics import EXCHANGE_RATE_LIMITED, EXCHANGE_RECONNECTS, EXCHANGE_WEIGHT_USED
from bot.exchange.protocol import (
    Answer, MalformedFrame, ServerEvent, parse_frame, request_weight, retry_at_ms,
)

log = logging.getLogger(__name__)


class ExchangeError(Exception):
    """The exchange could not answer this request; the next one may succeed."""


class ExchangeUnavailable(ExchangeError):
    """No connection, a lost one, or no answer in time."""


class RateLimited(ExchangeError):
    """429 or 418: we must not send before `until` (epoch seconds)."""

    def __init__(self, message: str, until: float) -> None:
        super().__init__(message)
        self.until = until


class RequestRefused(ExchangeError):
    """An error answer (4xx/5xx) to one request."""

    def __init__(self, status: int, code: int | None, message: str) -> None:
        super().__init__(f"status {status}, code {code}: {message}")
        self.status, self.code = status, code


class RestrictedLocation(ExchangeError):
    """HTTP 451 (or 403 from Binance's firewall): Binance does not serve this machine's location.

    Its message is the operator's one line: the cause and the remedy. Retrying soon changes nothing.
    """

    def __init__(self, message: str, status: int = 451) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ClientOptions:
    request_timeout: float = 10.0  # an answer later than this fails its request only
    weight_warning_share: float = 0.5  # warn when this share of the minute's weight is used
    ping_interval: float = 30.0  # our own pings: a silent dead connection is found in 2x this
    max_connection_age: float = 23 * 3600  # the server ends a connection at 24 h; renew before
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    restricted_log_every: float = 600.0  # the ERROR about a 451/403 at most this often


class BinanceClient:
    def __init__(self, url: str, options: ClientOptions | None = None, *,
                 shared_block: Callable[[], float] = lambda: 0.0) -> None:
        """`shared_block` returns until when (epoch seconds) the REST client was told not to send
        (a 429 or 418 there): the ban is the IP's, so this client waits too."""
        self._url = url
        self._shared_block = shared_block
        self._options = options or ClientOptions()
        self._connection: ClientConnection | None = None
        self._connected_at = 0.0
        self._reader: asyncio.Task[None] | None = None
        self._closing: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[Answer]] = {}
        self._ids = itertools.count(1)
        self._connect_lock = asyncio.Lock()
        self._failures = 0  # connection attempts in a row that got no answer
        self._answered = False  # has the current connection answered a request?
        self._next_attempt_at = 0.0  # monotonic; backoff after a failed or lost connection
        self.blocked_until = 0.0  # epoch seconds; after a 429 or 418
        self.weight_used: int | None = None
        self.weight_limit: int | None = None
        # Why Binance refuses this machine (a 451/403 handshake), for /healthz; None once it answers.
        self.restricted: str | None = None
        self._restricted_logged_at: float | None = None  # monotonic

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    async def request(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """Sends one request and returns its `result`, or raises an ExchangeError."""
        if time.time() < self.blocked_until:
            raise RateLimited(f"rate limited, not sending until {self.blocked_until:.0f}", self.blocked_until)
        shared = self._shared_block()
        if time.time() < shared:
            raise RateLimited(f"the REST API is rate limited; not sending until {shared:.0f}", shared)
        connection = await self._connected()
        request_id = f"{next(self._ids)}"
        answer_future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = answer_future
        message: dict[str, Any] = {"id": request_id, "method": method}
        if params:
            message["params"] = params
        try:
            await connection.send(_dumps(message))
            answer = await asyncio.wait_for(answer_future, self._options.request_timeout)
        except TimeoutError:
            raise ExchangeUnavailable(f"no answer to {method} within {self._options.request_timeout:g} s") from None
        except websockets.ConnectionClosed as exc:
            raise ExchangeUnavailable(f"connection lost while sending: {exc}") from None
        finally:
            self._pending.pop(request_id, None)
        return self._result_of(method, answer)

    def _result_of(self, method: str, answer: Answer) -> Any:
        self._note_limits(answer)
        if answer.status == 200:
            return answer.result
        if answer.status in (418, 429):
            raise RateLimited(f"{method}: status {answer.status}", self.blocked_until)
        raise RequestRefused(answer.status, answer.error_code, answer.error_msg)

    def _note_limits(self, answer: Answer) -> None:
        """Every answer, even one we cannot match to a request, tells us where we stand."""
        weight = request_weight(answer)
        if weight is not None:
            self.weight_used, self.weight_limit = weight.count, weight.limit
            EXCHANGE_WEIGHT_USED.set(weight.count)
            if weight.count > weight.limit * self._options.weight_warning_share:
                log.warning("request weight %d of %d this minute", weight.count, weight.limit)
        if answer.status in (418, 429):
            EXCHANGE_RATE_LIMITED.inc()
            until = retry_at_ms(answer, int(time.time() * 1000)) / 1000
            self.blocked_until = max(self.blocked_until, until)
            level = logging.ERROR if answer.status == 418 else logging.WARNING
            log.log(level, "exchange answered %d (%s): sending nothing for %.0f s",
                    answer.status, answer.error_msg, until - time.time())

    async def _connected(self) -> ClientConnection:
        async with self._connect_lock:
            connection = self._connection
            if connection is not None and time.monotonic() - self._connected_at > self._options.max_connection_age:
                if not self._pending:
                    log.info("renewing the exchange connection before the server's 24 h limit")
                    await self._drop(connection)
                    connection = None
            if connection is not None:
                return connection
            wait = self._next_attempt_at - time.monotonic()
            if wait > 0:
                # Fail this request now rather than stack it up behind a dead connection.
                if self.restricted is not None:
                    raise RestrictedLocation(self.restricted)
                raise ExchangeUnavailable(f"exchange unreachable, next connection attempt in {wait:.1f} s")
            try:
                connection = await connect(
                    self._url,
                    open_timeout=self._options.request_timeout,
                    ping_interval=self._options.ping_interval,
                    ping_timeout=self._options.ping_interval,
                    close_timeout=2,
                    max_size=8 * 2**20,  # the all-symbol answer is about 40 KB
                )
            except websockets.InvalidStatus as exc:
                if exc.response.status_code in (451, 403):
                    raise self._refused(exc.response.status_code, exc.response.body) from None
                self._backoff()
                raise ExchangeUnavailable(f"cannot connect to {self._url}: {exc!r}") from None
            except (OSError, TimeoutError, websockets.InvalidHandshake, websockets.InvalidURI) as exc:
                self._backoff()
                raise ExchangeUnavailable(f"cannot connect to {self._url}: {exc!r}") from None
            self.restricted = None
            log.info("connected to %s", self._url)
            self._answered = False
            self._connection = connection
            if self._connected_at:
                EXCHANGE_RECONNECTS.inc()  # not this client's first connection
            self._connected_at = time.monotonic()
            self._reader = asyncio.create_task(self._read(connection), name="exchange-reader")
            return connection

    def _refused(self, status: int, body: bytes | None) -> RestrictedLocation:
        """A 451 (restricted location) or 403 (Binance's firewall) handshake: one ERROR line with the
        cause and the remedy, at most every `restricted_log_every` seconds, and the longest backoff."""
        detail = _error_message(body)
        cause = ("Binance refuses to serve this machine's location (HTTP 451)" if status == 451
                 else "Binance's firewall refuses this machine (HTTP 403)")
        self.restricted = (
            f"{cause} on connecting to {self._url}{f': {detail}' if detail else ''}. No prices, so no alert can "
            f"fire. Run the bot from a location Binance serves, or set BINANCE_WS_URL to an endpoint this "
            f"machine may use."
        )
        now = time.monotonic()
        if self._restricted_logged_at is None or now - self._restricted_logged_at >= self._options.restricted_log_every:
            self._restricted_logged_at = now
            log.error("%s", self.restricted)
        self._failures = max(self._failures, 64)  # retrying soon changes nothing: the longest backoff
        self._backoff(quiet=True)
        return RestrictedLocation(self.restricted, status)

    def _backoff(self, *, quiet: bool = False) -> None:
        self._failures += 1
        delay = min(self._options.backoff_cap, self._options.backoff_base * 2 ** (self._failures - 1))
        delay *= random.uniform(0.5, 1.0)  # jitter, so many bots do not reconnect in step
        self._next_attempt_at = time.monotonic() + delay
        if not quiet:
            log.warning("exchange connection failed %d time(s); next attempt in %.1f s", self._failures, delay)

    async def _read(self, connection: ClientConnection) -> None:
        try:
            async for text in connection:
                self._dispatch(text)
        except websockets.ConnectionClosed:
            pass
        finally:
            reason = f"code {connection.close_code} {connection.close_reason or ''}".strip()
            if self._connection is connection:
                self._connection = None
                log.warning("exchange connection lost (%s)", reason)
                if not self._answered:
                    self._backoff()  # it never answered: do not reconnect in a tight loop
            self._fail_pending(ExchangeUnavailable(f"connection lost ({reason})"))

    def _dispatch(self, text: str | bytes) -> None:
        try:
            frame = parse_frame(text)
        except MalformedFrame as exc:
            log.warning("ignoring a frame from the exchange: %s", exc)
            return
        if isinstance(frame, ServerEvent):
            if frame.name == "serverShutdown":
                log.info("exchange announced a shutdown; reconnecting")
                if self._connection is not None:
                    self._closing = asyncio.create_task(self._connection.close())
            return
        future = self._pending.get(str(frame.id)) if frame.id is not None else None
        if future is None:
            log.warning("answer matches no request: id=%r status=%s %s", frame.id, frame.status, frame.error_msg)
            self._note_limits(frame)
            return
        self._answered, self._failures = True, 0  # this connection works
        if not future.done():
            future.set_result(frame)

    def _fail_pending(self, error: Exception) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)

    async def _drop(self, connection: ClientConnection) -> None:
        self._connection = None
        await connection.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    async def close(self) -> None:
        """Closes the connection cleanly and fails the requests still in flight."""
        connection = self._connection
        if connection is not None:
            await self._drop(connection)
        self._fail_pending(ExchangeUnavailable("client closed"))


def _error_message(body: bytes | None) -> str:
    """Binance's `{"code": 0, "msg": "Service unavailable from a restricted location..."}`, or the
    start of whatever the body was."""
    text = (body or b"").decode("utf-8", "replace").strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        return text[:200]
    return str(parsed.get("msg", ""))[:200] if isinstance(parsed, dict) else text[:200]


def _dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)
