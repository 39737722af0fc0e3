"""A local Telegram Bot API server, strict like the real one, for the bot's real HTTP client.

It serves `/bot<token>/<method>`, long-polls `getUpdates`, checks HTML the way Telegram does
(unknown tags and stray `<` or `&` are a 400), refuses texts over 4096 characters, refuses
blocked chats with 403 and enforces 30 messages per second with 429 + retry_after. Tests act
as users with `user_sends` and `press_button`, and read what the bot sent with `wait_for_message`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from aiohttp import web

BOT_ID = 4242
BOT_USERNAME = "pricealert_test_bot"
MAX_TEXT = 4096
MESSAGES_PER_SECOND = 30
_JSON_FIELDS = {"reply_markup", "commands", "allowed_updates", "entities", "link_preview_options",
                "reply_parameters", "scope"}
_ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
                 "span", "tg-spoiler", "blockquote", "tg-emoji"}


class _TelegramHTML(HTMLParser):
    """Reads a text the way Telegram's HTML parse mode does, collecting what it would refuse."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.stack: list[str] = []
        self.plain: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _ALLOWED_TAGS:
            self.problems.append(f'Unsupported start tag "{tag}"')
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f'Unmatched end tag "{tag}"')
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.plain.append(data)


def parse_html(text: str) -> str:
    """The visible text, or ValueError with Telegram's kind of description."""
    # Telegram accepts only &lt; &gt; &amp; &quot; and numeric entities; a bare & is refused.
    for match in re.finditer(r"&([^;\s]*);?", text):
        entity = match.group(0)
        if not re.fullmatch(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);", entity):
            raise ValueError(f"Can't parse entities: unsupported entity {entity!r}")
    if re.search(r"<(?![a-zA-Z/])", text):
        raise ValueError("Can't parse entities: unexpected '<'")
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    if parser.problems or parser.stack:
        raise ValueError("Can't parse entities: " + "; ".join(parser.problems or [f"unclosed {parser.stack}"]))
    return "".join(parser.plain)


class ApiError(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.retry_after = status, description, retry_after


@dataclass
class Sent:
    chat_id: int
    message_id: int
    text: str  # as sent, with HTML
    plain: str  # what the user sees
    reply_markup: dict[str, Any] | None
    at: float = field(default_factory=time.time)

    def buttons(self) -> list[dict[str, Any]]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]


@dataclass
class FakeTelegram:
    token: str = "123456:TEST-token_abcdefghijklmnopqrstuv"
    url: str = ""
    sent: list[Sent] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    blocked_chats: set[int] = field(default_factory=set)
    commands: list[dict[str, Any]] = field(default_factory=list)
    commands_by_language: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    callback_answers: dict[str, str] = field(default_factory=dict)
    edits: list[Sent] = field(default_factory=list)
    rejected: list[tuple[str, int, str]] = field(default_factory=list)  # method, status, description
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _update_ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _message_ids: itertools.count = field(default_factory=lambda: itertools.count(1000))
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _recent_sends: deque = field(default_factory=deque)
    _faults: dict[str, list[ApiError]] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    _closing: bool = False
    _sends_open: asyncio.Event = field(default_factory=lambda: _open_event())
    held: int = 0  # sendMessage calls waiting behind hold_sends
    group_admins: dict[int, set[int]] = field(default_factory=dict)  # getChatMember answers "creator"
    member_lookups: int = 0
    _held_accept: bool = True
    send_delay: float = 0.0  # seconds each sendMessage takes before it is accepted

    # -- life cycle -------------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._route)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        self._sends_open.set()
        async with self._changed:  # release long-polling getUpdates calls at once
            self._closing = True
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- what a user does -------------------------------------------------------------------
    async def user_sends(self, chat_id: int, text: str, *, user_id: int | None = None,
                         chat_type: str = "private", language_code: str | None = None) -> None:
        user_id = user_id or chat_id
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": "Tester"}
        if language_code:
            user["language_code"] = language_code
        message: dict[str, Any] = {
            "message_id": next(self._message_ids), "date": int(time.time()), "text": text,
            "chat": _chat(chat_id, chat_type), "from": user,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16_len(command)}]
        await self._push({"message": message})

    async def press_button(self, sent: Sent, callback_data: str, *, from_chat: int | None = None,
                           user_id: int | None = None) -> str:
        """Presses a button under `sent`; `from_chat` forges the press as coming from elsewhere."""
        query_id = f"q{next(self._update_ids)}"
        chat_id = from_chat if from_chat is not None else sent.chat_id
        await self._push({"callback_query": {
            "id": query_id, "chat_instance": str(chat_id), "data": callback_data,
            "from": {"id": user_id or chat_id, "is_bot": False, "first_name": "Tester"},
            "message": {"message_id": sent.message_id, "date": int(time.time()), "text": sent.plain,
                        "chat": _chat(chat_id, "private" if chat_id > 0 else "supergroup"), "from": _bot_user()},
        }})
        return query_id

    async def wait_for_message(self, chat_id: int, contains: str = "", timeout: float = 10.0,
                               after: int = 0) -> Sent:
        """The first message to `chat_id` (from index `after` on) whose visible text contains `contains`."""
        def find() -> Sent | None:
            for message in self.sent[after:]:
                if message.chat_id == chat_id and contains in message.plain:
                    return message
            return None
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: find() is not None), timeout)
        found = find()
        assert found is not None
        return found

    async def wait_for_answer(self, query_id: str, timeout: float = 10.0) -> str:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: query_id in self.callback_answers), timeout)
        return self.callback_answers[query_id]

    async def wait_for_edit(self, chat_id: int, timeout: float = 10.0, after: int = 0) -> Sent:
        """The first edit of a message in `chat_id` from index `after` on."""
        def find() -> Sent | None:
            return next((e for e in self.edits[after:] if e.chat_id == chat_id), None)
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: find() is not None), timeout)
        found = find()
        assert found is not None
        return found

    def messages_to(self, chat_id: int) -> list[Sent]:
        return [m for m in self.sent if m.chat_id == chat_id]

    def fail_next(self, method: str, status: int, description: str, retry_after: int | None = None) -> None:
        self._faults.setdefault(method, []).append(ApiError(status, description, retry_after))

    # -- the Bot API --------------------------------------------------------------------------
    async def _push(self, update: dict[str, Any]) -> None:
        async with self._changed:
            update["update_id"] = next(self._update_ids)
            self._updates.append(update)
            self._changed.notify_all()

    async def _route(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _fail(401, "Unauthorized")
        method = request.match_info["method"]
        params = await _params(request)
        self.calls.append((method, params))
        handler = getattr(self, f"_api_{method}", None)
        try:
            if handler is None:
                raise ApiError(404, "Not Found")
            faults = self._faults.get(method)
            if faults:
                raise faults.pop(0)
            result = await handler(params)
        except ApiError as exc:
            self.rejected.append((method, exc.status, exc.description))
            return _fail(exc.status, exc.description, exc.retry_after)
        return web.json_response({"ok": True, "result": result})

    async def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return _bot_user() | {"can_join_groups": True, "can_read_all_group_messages": False,
                              "supports_inline_queries": False}

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        return True

    async def _api_setMyCommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or not commands or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands must be a non-empty list")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: command description is invalid")
        language = str(params.get("language_code") or "")
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise ApiError(400, "Bad Request: invalid language code")
        self.commands_by_language[language] = commands
        if not language:
            self.commands = commands
        return True

    async def _api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        async with self._changed:
            if offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            if not self._updates and timeout > 0:
                try:
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: bool(self._updates) or self._closing), timeout
                    )
                except TimeoutError:
                    pass
            return list(self._updates[:limit])

    def hold_sends(self) -> None:
        """sendMessage calls wait, unaccepted, until `release_sends` (a network that hangs)."""
        self._sends_open.clear()

    def release_sends(self, *, accept: bool = True) -> None:
        """Lets held calls through; with accept=False they fail unrecorded (lost on the way)."""
        self._held_accept = accept
        self._sends_open.set()

    async def wait_for_held_sends(self, count: int, timeout: float = 10.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.held >= count), timeout)

    async def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        if not self._sends_open.is_set():
            async with self._changed:
                self.held += 1
                self._changed.notify_all()
            await self._sends_open.wait()
            if not self._held_accept or self._closing:
                raise ApiError(504, "Gateway Timeout")
        if self.send_delay:
            await asyncio.sleep(self.send_delay)
        chat_id = _chat_id(params)
        text = str(params.get("text", ""))
        plain = self._check_text(text, params.get("parse_mode"))
        if chat_id in self.blocked_chats:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        self._flood_check()
        message_id = next(self._message_ids)
        sent = Sent(chat_id, message_id, text, plain, params.get("reply_markup"))
        self._check_markup(sent.reply_markup)
        async with self._changed:
            self.sent.append(sent)
            self._changed.notify_all()
        return _message_json(sent)

    async def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = _chat_id(params)
        message_id = int(params.get("message_id") or 0)
        text = str(params.get("text", ""))
        plain = self._check_text(text, params.get("parse_mode"))
        if not any(m.chat_id == chat_id and m.message_id == message_id for m in self.sent):
            raise ApiError(400, "Bad Request: message to edit not found")
        edit = Sent(chat_id, message_id, text, plain, params.get("reply_markup"))
        self._check_markup(edit.reply_markup)
        async with self._changed:
            self.edits.append(edit)
            self._changed.notify_all()
        return _message_json(edit)

    async def _api_getChatMember(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id, user_id = _chat_id(params), int(params.get("user_id") or 0)
        self.member_lookups += 1
        user = {"id": user_id, "is_bot": False, "first_name": "Tester"}
        if chat_id > 0:
            raise ApiError(400, "Bad Request: chat member status can't be checked in private chats")
        if user_id in self.group_admins.get(chat_id, set()):
            return {"status": "creator", "user": user, "is_anonymous": False}
        return {"status": "member", "user": user}

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if query_id in self.callback_answers:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        if len(str(params.get("text", ""))) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        async with self._changed:
            self.callback_answers[query_id] = str(params.get("text", ""))
            self._changed.notify_all()
        return True

    # -- strictness ---------------------------------------------------------------------------
    def _check_text(self, text: str, parse_mode: Any) -> str:
        if parse_mode not in (None, "HTML"):
            raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode!r} in this fake")
        try:
            plain = parse_html(text) if parse_mode == "HTML" else text
        except ValueError as exc:
            raise ApiError(400, f"Bad Request: {exc}") from None
        if not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(plain) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        return plain

    def _check_markup(self, markup: dict[str, Any] | None) -> None:
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")

    def _flood_check(self) -> None:
        now = time.monotonic()
        while self._recent_sends and now - self._recent_sends[0] > 1.0:
            self._recent_sends.popleft()
        if len(self._recent_sends) >= MESSAGES_PER_SECOND:
            raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
        self._recent_sends.append(now)


def _open_event() -> asyncio.Event:
    event = asyncio.Event()
    event.set()
    return event


def _message_json(message: Sent) -> dict[str, Any]:
    chat_type = "private" if message.chat_id > 0 else "supergroup"
    return {"message_id": message.message_id, "date": int(time.time()), "chat": _chat(message.chat_id, chat_type),
            "from": _bot_user(), "text": message.plain}


def _bot_user() -> dict[str, Any]:
    return {"id": BOT_ID, "is_bot": True, "first_name": "pricealert", "username": BOT_USERNAME}


def _chat(chat_id: int, chat_type: str) -> dict[str, Any]:
    chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
    if chat_type == "private":
        chat["first_name"] = "Tester"
    else:
        chat["title"] = "Test group"
    return chat


def _chat_id(params: dict[str, Any]) -> int:
    try:
        return int(params["chat_id"])
    except (KeyError, ValueError, TypeError):
        raise ApiError(400, "Bad Request: chat not found") from None


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _fail(status: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)


async def _params(request: web.Request) -> dict[str, Any]:
    """Telegram takes query strings, forms and JSON; objects inside forms are JSON strings."""
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        params.update(await request.json())
    elif request.can_read_body:
        params.update(await request.post())
    for key in _JSON_FIELDS & params.keys():
        if isinstance(params[key], str):
            params[key] = json.loads(params[key])
    return params
