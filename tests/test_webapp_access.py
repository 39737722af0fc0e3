"""The Mini App's API under strangers and slow clients (issue 23, review): ALLOWED_CHAT_IDS as in
chat, a request's body read whole and in time before any shared slot is taken, restricted users
who left a group. The real bot and HTTP server, the fakes, raw sockets where timing matters."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

from bot.runtime.parts import parts_of
from bot.webapp import api, http
from tests.fakes.exchange import FakeExchange
from tests.fakes.rest import FakeBinanceRest
from tests.fakes.telegram import FakeTelegram
from tests.test_webapp_api import call
from tests.webapp_support import AppServer, group_token, init_data, serve_app

USER, STRANGER, GROUP, OTHER_GROUP = 1001, 2002, -100888, -100777
ROUTES = [("GET", "api/session"), ("GET", "api/alerts"), ("GET", "api/symbols?q=btc"),
          ("GET", "api/chart?symbol=BTCUSDT&interval=1h"), ("GET", "api/live?symbol=BTCUSDT"),
          ("POST", "api/alerts"), ("PATCH", "api/alerts/1"), ("DELETE", "api/alerts/1")]


@pytest.fixture
async def rest(exchange: FakeExchange) -> AsyncIterator[FakeBinanceRest]:
    fake = FakeBinanceRest(prices=exchange.prices)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def app(database_url: str, exchange: FakeExchange, telegram: FakeTelegram,
              rest: FakeBinanceRest) -> AsyncIterator[AppServer]:
    exchange.set_price("BTCUSDT", "64000.00")
    async with serve_app(database_url, exchange, telegram, rest, commands_per_minute=1000,
                         allowed_chat_ids=frozenset({USER, 1002, 1003, 1004, GROUP})) as server:
        yield server


async def chat_rows(app: AppServer, chat_id: int) -> int:
    async with parts_of(app.application).engine.connect() as connection:
        return (await connection.execute(text("SELECT count(*) FROM chats WHERE id = :id"), {"id": chat_id})).scalar_one()


async def test_a_stranger_is_refused_on_every_route_and_nothing_is_stored(app: AppServer, telegram: FakeTelegram) -> None:
    body = {"symbol": "BTCUSDT", "level": "70000"}
    for method, path in ROUTES:
        status, answer, _ = await call(app, method, path, user=STRANGER, body=body if method != "GET" else None)
        assert (status, answer["error"]) == (403, "not_allowed"), (method, path)
    lookups = telegram.member_lookups
    status, answer, _ = await call(app, "GET", "api/session", user=USER, start=group_token(app.token, OTHER_GROUP))
    assert (status, answer["error"]) == (403, "not_allowed")
    assert telegram.member_lookups == lookups  # refused before asking Telegram
    assert await chat_rows(app, STRANGER) == 0 and await chat_rows(app, OTHER_GROUP) == 0
    # An allowed chat is served; an allowed group upgraded to a supergroup is followed, as in chat.
    assert (await call(app, "GET", "api/session", user=USER))[0] == 200
    assert (await call(app, "POST", "api/alerts", user=USER, body=body))[0] == 201
    parts_of(app.application).allowed.follow(GROUP, OTHER_GROUP)  # type: ignore[union-attr]
    assert (await call(app, "GET", "api/alerts", user=USER, start=group_token(app.token, OTHER_GROUP)))[0] == 200


async def test_a_restricted_user_who_left_the_group_is_not_a_member(app: AppServer, telegram: FakeTelegram) -> None:
    token = group_token(app.token, GROUP)
    telegram.restricted[(GROUP, 1005)] = False  # restricted, then left: the status stays "restricted"
    telegram.restricted[(GROUP, 1006)] = True
    status, answer, _ = await call(app, "GET", "api/session", user=1005, start=token)
    assert (status, answer["error"]) == (403, "not_a_member")
    status, answer, _ = await call(app, "GET", "api/session", user=1006, start=token)
    assert (status, answer["may_change"]) == (200, False)


async def open_request(app: AppServer, method: str, path: str, user: int, head: bytes = b"",
                       extra: str = "") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A request written by hand: its headers, then `head` of its body; the rest is the caller's."""
    url = urlsplit(app.url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    writer.write((f"{method} {url.path}{path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
                  f"Authorization: tma {init_data(app.token, user)}\r\nContent-Type: application/json\r\n"
                  f"{extra}Connection: close\r\n\r\n").encode() + head)
    await writer.drain()
    return reader, writer


async def answer_of(reader: asyncio.StreamReader) -> tuple[int, dict[str, object]]:
    """The answer, read to its Content-Length: the server may linger reading an unread body before closing."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode()
    length = next(int(line.split(":")[1]) for line in head.split("\r\n") if line.lower().startswith("content-length:"))
    body = await reader.readexactly(length)
    return int(head.split()[1]), json.loads(body) if body.startswith(b"{") else {}


async def test_a_body_in_two_segments_is_read_whole_and_a_chunked_one_over_the_limit_is_refused(app: AppServer) -> None:
    body = json.dumps({"symbol": "BTCUSDT", "level": "70000", "note": "x" * 200}).encode()
    reader, writer = await open_request(app, "POST", "api/alerts", USER, body[:40],
                                        f"Content-Length: {len(body)}\r\n")
    await asyncio.sleep(0.2)  # the rest arrives in its own TCP segment
    writer.write(body[40:])
    status, answer = await answer_of(reader)
    writer.close()
    assert status == 201 and answer["alert"]["note"] == "x" * 200  # type: ignore[index]

    reader, writer = await open_request(app, "POST", "api/alerts", USER, extra="Transfer-Encoding: chunked\r\n")
    for _ in range(2):  # two chunks of 3000 bytes: together over the 4096 allowed
        writer.write(b"%x\r\n" % 3000 + b" " * 3000 + b"\r\n")
        await writer.drain()
        await asyncio.sleep(0.1)
    writer.write(b"0\r\n\r\n")
    status, answer = await answer_of(reader)
    writer.close()
    assert (status, answer["error"]) == (413, "too_large")


async def test_slow_bodies_hold_no_slot_and_a_user_has_a_few_requests_at_once(
        app: AppServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "BODY_SECONDS", 60.0)
    slow = [await open_request(app, "PATCH", "api/alerts/1", user, b'{"no', "Content-Length: 40\r\n")
            for user in [USER] * api.MAX_PER_USER + [1002, 1003]]  # more slow bodies than the gate has slots
    # Another user is answered while they all trickle (without the fix: never).
    status, _, _ = await asyncio.wait_for(call(app, "GET", "api/alerts", user=1004), 30)
    assert status == 200
    # USER has MAX_PER_USER requests in flight already: one more is refused at once, not queued.
    busy: list[tuple[int, object]] = []

    async def third() -> None:
        status, answer, _ = await call(app, "GET", "api/alerts", user=USER)
        busy.append((status, answer.get("error")))

    for _ in range(200):  # until the server has all of USER's slow requests in hand
        await third()
        if busy[-1] == (429, "busy"):
            break
    assert busy[-1] == (429, "busy")
    for reader, writer in slow:
        writer.close()
    monkeypatch.setattr(http, "BODY_SECONDS", 0.3)
    reader, writer = await open_request(app, "PATCH", "api/alerts/1", USER, b'{"no', "Content-Length: 40\r\n")
    status, answer = await answer_of(reader)
    writer.close()
    assert (status, answer["error"]) == (408, "too_slow")


async def test_the_first_chart_is_asked_without_a_symbol_and_opens_on_the_chats_first(
        app: AppServer, exchange: FakeExchange) -> None:
    status, answer, _ = await call(app, "GET", "api/chart?interval=1h", user=1002)
    assert (status, answer["symbol"]) == (200, "BTCUSDT")  # a chat without alerts
    exchange.set_price("ETHUSDT", "2600.00")
    assert (await call(app, "POST", "api/alerts", user=1002, body={"symbol": "ETHUSDT", "level": "2610"}))[0] == 201
    assert (await call(app, "POST", "api/alerts", user=1002, body={"symbol": "BTCUSDT", "level": "100000"}))[0] == 201
    for _ in range(200):  # until the prices the app reads include ETHUSDT's (the next tick)
        groups = (await call(app, "GET", "api/alerts", user=1002))[1]["groups"]
        if all(group["price"] is not None for group in groups):
            break
        await asyncio.sleep(0.05)
    status, answer, _ = await call(app, "GET", "api/chart?interval=1h", user=1002)
    assert (status, answer["symbol"], [a["level"] for a in answer["alerts"]]) == (200, "ETHUSDT", ["2610"])
