"""The outbox's Bot API client: sendMessage as one JSON POST over aiohttp, answers read as JSON.

Why not python-telegram-bot's Bot for these: the outbox is the one path that must carry up to
1,000 requests a second (paid broadcasts), and its CPU decides whether it can. Profiled against
the fake Bot API in another process (docs/fanout.md), a send through `Bot.send_message` spent
about as much CPU in python-telegram-bot as in everything else together: the keyboard objects
serialised parameter by parameter into a form, and a `Message` object built from every answer
(all the sender needs of it is `message_id`). httpx, its default client, cost 3 to 6 ms per
request here (httpcore's pool walks every connection on every request); aiohttp 0.8 ms, and
the bot already serves its webhook and metrics with it. Commands, photos and documents keep
python-telegram-bot's Bot and its default client.

Telegram's refusals become python-telegram-bot's public exceptions, mapped as its own request
layer maps them (`parameters.migrate_to_chat_id` → ChatMigrated, `parameters.retry_after` →
RetryAfter, 403 → Forbidden, 400 → BadRequest, 401/404 → InvalidToken, anything else →
NetworkError; timeouts → TimedOut), so the sender answers each exactly as before.
"""

from __future__ import annotations

import asyncio
import json
from http import HTTPStatus
from typing import Any

import aiohttp
from telegram.error import (
    BadRequest, ChatMigrated, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError, TimedOut,
)

CONNECTIONS = 100  # at 1,000 a second and tens of ms each, well under a hundred are in flight
USER_AGENT = "pricealert (aiohttp)"
JSON = {"Content-Type": "application/json", "User-Agent": USER_AGENT}


class BotApiClient:
    """sendMessage for the outbox sender; `initialize()` before the first, `shutdown()` after the last."""

    def __init__(self, token: str, api_url: str, *, timeout: float = 10.0, connections: int = CONNECTIONS) -> None:
        self._url = f"{api_url}/bot{token}/sendMessage"  # TELEGRAM_API_URL, as the Application's Bot uses it
        self._timeout = timeout
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections),
                timeout=aiohttp.ClientTimeout(total=self._timeout),
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def send_message(self, params: dict[str, Any]) -> int:
        """Posts sendMessage with `params` (the Bot API's JSON fields) and returns the new message's id."""
        if self._session is None or self._session.closed:
            raise RuntimeError("BotApiClient is not initialized")
        try:
            async with self._session.post(self._url, data=json.dumps(params), headers=JSON) as answer:
                status, payload = answer.status, await answer.read()
        except asyncio.TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp: {exc!r}") from exc
        try:
            body = json.loads(payload)
        except ValueError:
            body = None
        if HTTPStatus.OK <= status <= 299 and isinstance(body, dict) and isinstance(body.get("result"), dict):
            return int(body["result"]["message_id"])
        raise refusal(status, body if isinstance(body, dict) else None, payload)


def refusal(status: int, body: dict[str, Any] | None, payload: bytes = b"") -> TelegramError:
    """The exception python-telegram-bot raises for this answer (telegram.request.BaseRequest)."""
    try:
        message = f"{HTTPStatus(status).phrase} ({status})"
    except ValueError:
        message = f"Unknown HTTPError ({status})"
    if body is None:
        return NetworkError(f"{message}. Parsing the server response {payload!r} failed")
    message = body.get("description") or message
    parameters = body.get("parameters")
    if parameters:
        if parameters.get("migrate_to_chat_id"):
            return ChatMigrated(int(parameters["migrate_to_chat_id"]))
        if parameters.get("retry_after"):
            return RetryAfter(parameters["retry_after"])
    if status == HTTPStatus.FORBIDDEN:
        return Forbidden(message)
    if status in (HTTPStatus.NOT_FOUND, HTTPStatus.UNAUTHORIZED):
        return InvalidToken(message)
    if status == HTTPStatus.BAD_REQUEST:
        return BadRequest(message)
    if status == HTTPStatus.CONFLICT:
        return Conflict(message)
    if HTTPStatus.OK <= status <= 299:  # ok, but no message in it
        return NetworkError(f"Telegram answered {status} without a message: {payload[:200]!r}")
    return NetworkError(message)
