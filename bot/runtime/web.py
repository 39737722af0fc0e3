"""The process's HTTP side, on aiohttp's server: Telegram's webhook, `/healthz` and `/metrics`.

This is python-telegram-bot's documented custom-webhook pattern (the update is checked, decoded
with `Update.de_json` and put on `application.update_queue`) with a well-kept HTTP server that
runs in the bot's own event loop and leaves the signals to us. Routes that share an address
share one server, so METRICS_LISTEN may equal WEBHOOK_LISTEN.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from telegram import Update
from telegram.ext import Application

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 2**20  # an update is a few KB; refuse anything far larger unread

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


class HttpServer:
    """Routes grouped by listening address; one aiohttp site per address."""

    def __init__(self) -> None:
        self._routes: dict[tuple[str, int], list[tuple[str, str, Handler]]] = {}
        self._runners: list[web.AppRunner] = []

    def add(self, listen: str, method: str, path: str, handler: Handler) -> None:
        self._routes.setdefault(split_listen(listen), []).append((method, path, handler))

    async def start(self) -> None:
        for (host, port), routes in self._routes.items():
            app = web.Application(client_max_size=MAX_UPDATE_BYTES)
            for method, path, handler in routes:
                app.router.add_route(method, path, handler)
            runner = web.AppRunner(app, handle_signals=False, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, host, port).start()
            self._runners.append(runner)
            log.info("serving %s on %s:%d", ", ".join(path for _, path, _ in routes), host, port)

    async def stop(self) -> None:
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()


def webhook_handler(application: Application, secret: str) -> Handler:
    """Telegram's POST: a wrong or missing secret gets 403 and nothing is processed."""
    expected = secret.encode()

    async def handle(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, expected):
            log.warning("refused a webhook request from %s: wrong or missing secret token", request.remote)
            return web.Response(status=403, text="forbidden")
        try:
            data = await request.json()
            update = Update.de_json(data, application.bot)
        except Exception:  # malformed JSON or not an Update: Telegram would not send it
            return web.Response(status=400, text="bad update")
        await application.update_queue.put(update)
        return web.Response(text="ok")

    return handle


def health_handler(check: Callable[[], Awaitable[tuple[int, str]]]) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        status, body = await check()
        return web.Response(status=status, text=body + "\n", content_type="application/json")

    return handle


async def metrics_handler(request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})
