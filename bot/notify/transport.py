"""The outbox's HTTP client for the Bot API: aiohttp under python-telegram-bot's request interface.

Why not the default (httpx): the outbox is the one path that must carry up to 1,000 requests a
second (paid broadcasts). Profiled against the fake Bot API in another process, httpx with
httpcore's pool spends 3 to 6 ms of CPU per sendMessage (its pool walks every connection, and
polls each socket, on every request); aiohttp 0.8 ms. The bot already serves its webhook and
metrics with aiohttp. Only text messages go this way (form-encoded, no uploads); commands,
photos and documents keep python-telegram-bot's default client.
"""

from __future__ import annotations

import asyncio

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

CONNECTIONS = 100  # at 1,000 a second and tens of ms each, well under a hundred are in flight


class AiohttpRequest(BaseRequest):
    def __init__(self, *, timeout: float = 10.0, connections: int = CONNECTIONS) -> None:
        self._timeout = timeout
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float:
        return self._timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections),
                timeout=aiohttp.ClientTimeout(total=self._timeout),
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE, write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE, pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        if request_data is not None and request_data.contains_files:
            raise NotImplementedError("the outbox sends text only; uploads go through the default client")
        data = request_data.json_parameters if request_data is not None else None
        try:
            async with self._session.request(method, url, data=data, headers={"User-Agent": self.USER_AGENT}) as answer:
                return answer.status, await answer.read()
        except asyncio.TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp: {exc!r}") from exc
