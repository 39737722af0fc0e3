"""The Mini App's HTTP plumbing: every answer's security headers, errors as JSON, a request's body.

Kept apart from the routes (bot.webapp.api) so that each reads on its own.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

from bot.exchange.client import ExchangeError

log = logging.getLogger(__name__)

MAX_BODY = 4096  # bytes: a level and a note; anything larger is refused unread
BODY_SECONDS = 5.0  # a body not all there by then gets 408: a slow sender holds no slot
# Scripts from the app itself and Telegram's script only, and the inline scripts whose hashes are
# named (the page's first requests, bot/webapp/static/boot.js, inlined so they leave one round trip
# earlier); Telegram's script adds a <style> element (hence 'unsafe-inline' for styles); framing
# only by Telegram's web clients.
def content_policy(script_hashes: Iterable[str] = ()) -> str:
    inline = "".join(f" 'sha256-{digest}'" for digest in script_hashes)
    return (f"default-src 'self'; script-src 'self' https://telegram.org{inline}; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
            "frame-ancestors https://web.telegram.org https://webk.telegram.org https://webz.telegram.org")


def script_hash(script: str) -> str:
    """The CSP's name for an inline script: base64 of the SHA-256 of its text, exactly as between the tags."""
    return base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")


CSP = content_policy()

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Route = tuple[str, str, Handler]


class ApiError(Exception):
    def __init__(self, status: int, code: str, **facts: object) -> None:
        super().__init__(code)
        self.status, self.code, self.facts = status, code, facts


def _json(data: object, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, headers={"Cache-Control": "no-store"})


async def read_body(request: web.Request, timeout: float | None = None) -> dict[str, Any]:
    """The JSON object of a request, MAX_BODY bytes at most: a larger one is refused (413) unread when
    Content-Length says so, else as soon as more arrived; a body not all there within `timeout` gets 408.
    It is read to its end: a body may arrive in several TCP segments (read(n) returns what is buffered)."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiError(413, "too_large")
    raw = bytearray()

    async def whole() -> None:
        while chunk := await request.content.readany():
            raw.extend(chunk)
            if len(raw) > MAX_BODY:
                raise ApiError(413, "too_large")

    try:
        await asyncio.wait_for(whole(), BODY_SECONDS if timeout is None else timeout)
    except asyncio.TimeoutError:
        raise ApiError(408, "too_slow") from None
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise ApiError(400, "bad_json") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json")
    return body


def secured(handler: Handler, policy: str = CSP) -> Handler:
    """Every answer: the CSP (`policy`), nosniff, no referrer; an ApiError becomes its JSON."""

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            response = await handler(request)
        except ApiError as exc:
            response = _json({"error": exc.code, **exc.facts}, status=exc.status)
        except ExchangeError as exc:
            log.warning("mini app without the exchange: %s", exc)
            response = _json({"error": "exchange_unavailable"}, status=503)
        except web.HTTPException as exc:
            response = web.Response(status=exc.status, text=exc.reason)
        response.headers["Content-Security-Policy"] = policy
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    return handle

