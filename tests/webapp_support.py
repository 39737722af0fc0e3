"""What the Mini App's tests share: the real bot with its real HTTP server serving the app (the
routes bot.runtime serves), the fakes behind it, and initData signed as Telegram signs it."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from telegram.ext import Application

from bot.runtime.compose import webapp_of
from bot.runtime.web import HttpServer
from bot.webapp.auth import sign_init_data, sign_start_token
from tests.conftest import bot_settings, start_bot, stop_bot
from tests.fakes.exchange import FakeExchange
from tests.fakes.rest import FakeBinanceRest
from tests.fakes.telegram import FakeTelegram


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def init_data(token: str, user_id: int, *, start_param: str | None = None, language: str = "en",
              auth_date: int | None = None) -> str:
    fields = {"query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
              "user": json.dumps({"id": user_id, "first_name": "Tester", "language_code": language}),
              "auth_date": str(int(time.time()) - 5 if auth_date is None else auth_date),
              "chat_type": "sender" if start_param is None else "supergroup", "chat_instance": "-123456789",
              "signature": "c2lnbmF0dXJl"}
    if start_param is not None:
        fields["start_param"] = start_param
    return sign_init_data(fields, token)


def group_token(token: str, chat_id: int) -> str:
    return sign_start_token(chat_id, token)


@dataclass
class AppServer:
    application: Application
    url: str  # the page, ending in "/"
    token: str


@asynccontextmanager
async def serve_app(database_url: str, exchange: FakeExchange, telegram: FakeTelegram, rest: FakeBinanceRest,
                    **overrides: object) -> AsyncIterator[AppServer]:
    """The bot and its HTTP server with the Mini App's routes, stopped on leaving."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/app/"
    settings = bot_settings(database_url, exchange, telegram, binance_rest_url=rest.url, webapp_url=url,
                            webapp_listen=f"127.0.0.1:{port}", webapp_local_sdk=True, **overrides)
    application = await start_bot(settings)
    http = HttpServer()
    for method, path, handler in webapp_of(settings, application):
        http.add(settings.webapp_listen, method, path, handler)
    await http.start()
    try:
        yield AppServer(application, url, telegram.token)
    finally:
        await http.stop()
        await stop_bot(application)
