"""A local Telegram Bot API server, strict like the real one, for the bot's real HTTP client.

It serves `/bot<token>/<method>`, long-polls `getUpdates`, checks HTML the way Telegram does
(unknown tags and stray `<` or `&` are a 400: "can't parse entities"), refuses texts over 4096
characters (captions over 1024), takes photos as multipart/form-data uploads (PNG or JPEG, within
Telegram's limits), refuses blocked chats with 403 and enforces 30 messages per second with 429 + retry_after (any
one-second stretch holds at most 30 free messages); with `allow_paid_broadcast` 1,000 in all, each
over the free 30 charged 0.1 Star from `stars`, refused with 400 BALANCE_TOO_LOW when they run
out (Bot API, "Paid Broadcasts": only messages broadcast successfully are charged). Like Telegram,
it refuses a reply to a deleted message ("message to be replied not found") unless the bot allows
sending without it, and an edit that changes nothing ("message is not modified"); in groups it
keeps privacy mode (only commands, replies to the bot and mentions reach it). After `setWebhook`
it POSTs each update to the webhook (or to `webhook_routes`, a load balancer's replicas, in turn)
with the `X-Telegram-Bot-Api-Secret-Token` header, and refuses `getUpdates` with 409; two
`getUpdates` at once end the earlier one with 409 ("terminated by other getUpdates request"). Tests act as users
with `user_sends`, `user_replies`, `user_answers` (a ForceReply answered), `delete_message` and
`press_button`, and read what the bot sent with `wait_for_message`.

Forum topics (supergroups with is_forum, and private chats with topics since Bot API 9.3):
`create_topic` sends the forum_topic_created service message and returns the thread id (that
message's id); `user_sends(..., thread_id=)` writes in a topic (message_thread_id,
is_topic_message, replying to the topic's creation); General has no thread id. A send to a
deleted (or unknown) topic is "Bad Request: message thread not found", to a closed one
"Bad Request: TOPIC_CLOSED" (the bot is not assumed to manage topics); a reply without a thread
id goes to the replied message's topic, as Telegram does. Each `Sent` records its thread_id and
whether it came with disable_notification (`silent`).
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import json
import re
import time
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

_REQUEST: ContextVar[web.Request] = ContextVar("request")  # the HTTP request a Bot API method serves
BOT_ID = 4242
BOT_USERNAME = "pricealert_test_bot"
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_PHOTO_BYTES = 10 * 2**20  # sendPhoto: 10 MB, width + height at most 10000, ratio at most 20
MAX_DOCUMENT_BYTES = 50 * 2**20  # sendDocument: 50 MB
MAX_DOWNLOAD_BYTES = 20 * 2**20  # getFile: 20 MB
MESSAGES_PER_SECOND = 30
PAID_MESSAGES_PER_SECOND = 1000
PAID_MESSAGE_STARS = Decimal("0.1")  # per message over the free 30 a second
_JSON_FIELDS = {"reply_markup", "commands", "allowed_updates", "entities", "link_preview_options",
                "reply_parameters", "scope", "menu_button"}
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
    def __init__(self, status: int, description: str, retry_after: int | None = None,
                 parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.retry_after = status, description, retry_after
        self.parameters = parameters  # ResponseParameters beyond retry_after (migrate_to_chat_id)


@dataclass
class Sent:
    chat_id: int
    message_id: int
    text: str  # as sent, with HTML
    plain: str  # what the user sees
    reply_markup: dict[str, Any] | None
    at: float = field(default_factory=time.time)
    paid: bool = False  # sent with allow_paid_broadcast
    charged: bool = False  # over the free 30 a second: 0.1 Star taken
    photo: bytes | None = None  # sendPhoto: the uploaded file; `text` is then the caption
    document: bytes | None = None  # sendDocument: the uploaded file; `text` is then the caption
    filename: str | None = None  # sendDocument: the file's name
    reply_to: int | None = None  # the message this one replies to (reply_parameters), if it still existed
    thread_id: int | None = None  # the forum topic it went to (None: General, or a chat without topics)
    silent: bool = False  # sent with disable_notification

    def buttons(self) -> list[dict[str, Any]]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]


@dataclass
class Topic:
    name: str
    created: dict[str, Any]  # the forum_topic_created service message: messages in the topic reply to it
    closed: bool = False
    deleted: bool = False


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
    rejected_at: list[float] = field(default_factory=list)  # time.time() of each rejection, as `rejected`
    stars: Decimal = Decimal(0)  # the bot's Stars balance, paying for broadcasts over the free rate
    stars_spent: Decimal = Decimal(0)
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _update_ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _message_ids: itertools.count = field(default_factory=lambda: itertools.count(1000))
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _recent_sends: deque = field(default_factory=deque)  # every accepted message of the last second
    _recent_free: deque = field(default_factory=deque)  # those of them that were not charged
    _faults: dict[str, list[ApiError]] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    _closing: bool = False
    _sends_open: asyncio.Event = field(default_factory=lambda: _open_event())
    held: int = 0  # sendMessage calls waiting behind hold_sends
    group_admins: dict[int, set[int]] = field(default_factory=dict)  # getChatMember answers "creator"
    member_lookups: int = 0
    # (chat id, user id) -> is_member: getChatMember answers "restricted", as Telegram does for a
    # restricted user, whether still in the group (True) or gone (False; the status stays "restricted").
    restricted: dict[tuple[int, int], bool] = field(default_factory=dict)
    _held_accept: bool = True
    send_delay: float = 0.0  # seconds each sendMessage takes before it is accepted
    # Groups: privacy mode (Telegram's default for bots) withholds what is not meant for the bot.
    privacy_mode: bool = True
    withheld: list[dict[str, Any]] = field(default_factory=list)  # group messages the bot never saw
    user_messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    deleted: set[tuple[int, int]] = field(default_factory=set)  # (chat id, message id)
    commands_deleted_in: set[int] = field(default_factory=set)  # chats whose cleaner bot deletes commands at once
    # Webhook mode: setWebhook's parameters; updates are then POSTed, and getUpdates is refused.
    webhook: dict[str, Any] | None = None
    webhook_routes: list[str] = field(default_factory=list)  # a load balancer: base URLs taken in turn
    webhook_posts: list[tuple[str, int]] = field(default_factory=list)  # (URL, status) of each POST
    _webhook_task: asyncio.Task | None = None
    migrated: dict[int, int] = field(default_factory=dict)  # group id -> its supergroup's id
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # file_id -> (file_path, bytes)
    downloads: list[str] = field(default_factory=list)  # file paths the bot downloaded
    _poll_serial: int = 0  # the latest getUpdates; an earlier one still waiting is terminated (409)
    # setChatMenuButton: chat id (0: the default for every private chat) -> the menu button set.
    menu_buttons: dict[int, dict[str, Any]] = field(default_factory=dict)
    # Forum topics: chat -> thread id -> the topic. Supergroups with is_forum, and private chats
    # with topics (Bot API 9.3: getMe's has_topics_enabled). General has no thread id.
    forums: dict[int, dict[int, Topic]] = field(default_factory=dict)

    # -- life cycle -------------------------------------------------------------------------
    async def start(self, port: int = 0) -> str:
        app = web.Application(client_max_size=MAX_PHOTO_BYTES + 2**20)
        app.router.add_route("*", "/bot{token}/{method}", self._route)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        self._sends_open.set()
        async with self._changed:  # release long-polling getUpdates calls at once
            self._closing = True
            self._changed.notify_all()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- what a user does -------------------------------------------------------------------
    async def user_sends(self, chat_id: int, text: str, *, user_id: int | None = None,
                         chat_type: str = "private", language_code: str | None = None,
                         thread_id: int | None = None) -> int:
        """`thread_id`: written in that forum topic (None: General, or a chat without topics)."""
        user_id = user_id or chat_id
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": "Tester"}
        if language_code:
            user["language_code"] = language_code
        message: dict[str, Any] = {
            "message_id": next(self._message_ids), "date": int(time.time()), "text": text,
            "chat": self._chat_json(chat_id, chat_type), "from": user,
        }
        if thread_id is not None:
            topic = self.forums[chat_id][thread_id]
            assert not topic.deleted and (not topic.closed or chat_type == "private"), "members cannot write there"
            # As Telegram: a message in a topic replies to the topic's creation unless it replies to another.
            message |= {"message_thread_id": thread_id, "is_topic_message": True, "reply_to_message": topic.created}
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16_len(command)}]
        return await self._deliver(message)

    async def user_replies(self, chat_id: int, to_message: Sent | int, text: str, *, user_id: int | None = None,
                           chat_type: str | None = None) -> int:
        """The user answers `to_message` (one of the bot's, or a user message id) with a reply."""
        message_id = to_message if isinstance(to_message, int) else to_message.message_id
        original = self.user_messages.get((chat_id, message_id))
        if original is None:
            bot_message = self._current(chat_id, message_id)
            assert bot_message is not None, f"no message {message_id} in chat {chat_id} to reply to"
            original = _message_json(bot_message)
        user = {"id": user_id or chat_id, "is_bot": False, "first_name": "Tester"}
        message = {"message_id": next(self._message_ids), "date": int(time.time()), "text": text,
                   "chat": _chat(chat_id, chat_type or ("private" if chat_id > 0 else "supergroup")), "from": user,
                   "reply_to_message": original}
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16_len(text.split()[0])}]
        return await self._deliver(message)

    async def user_answers(self, chat_id: int, text: str, *, user_id: int | None = None) -> int:
        """What the user's app does under a ForceReply: the reply goes to the latest question that
        forces a reply from this user (selective: one that replies to them or mentions them)."""
        user_id = user_id or chat_id
        for sent in reversed(self.messages_to(chat_id)):
            force = (sent.reply_markup or {}).get("force_reply")
            if not force or (chat_id, sent.message_id) in self.deleted:
                continue
            replied = self.user_messages.get((chat_id, sent.reply_to or 0))
            if (not (sent.reply_markup or {}).get("selective") or f"tg://user?id={user_id}" in sent.text
                    or (replied is not None and replied["from"]["id"] == user_id)):
                return await self.user_replies(chat_id, sent, text, user_id=user_id)
        raise AssertionError(f"no ForceReply in chat {chat_id} is addressed to user {user_id}")

    async def create_topic(self, chat_id: int, name: str, *, user_id: int = 1, announce: bool = True) -> int:
        """Someone creates a forum topic (a supergroup becomes a forum; a private chat has topics
        when the bot enabled them). The bot gets the service message; returns the thread id,
        which is the id of that message, as in Telegram. `announce=False`: made before the bot
        joined, so it never got that message (messages in the topic still reply to it)."""
        chat_type = "private" if chat_id > 0 else "supergroup"
        self.forums.setdefault(chat_id, {})
        message_id = next(self._message_ids)
        created = {"message_id": message_id, "date": int(time.time()), "chat": self._chat_json(chat_id, chat_type),
                   "from": {"id": user_id, "is_bot": False, "first_name": "Tester"},
                   "message_thread_id": message_id, "is_topic_message": True,
                   "forum_topic_created": {"name": name, "icon_color": 7322096}}
        self.forums[chat_id][message_id] = Topic(name, created)
        if announce:
            await self._push({"message": created})  # service messages reach bots in privacy mode too
        return message_id

    async def rename_topic(self, chat_id: int, thread_id: int, name: str, *, user_id: int = 1) -> None:
        """The topic gets a new name: the bot gets the forum_topic_edited service message, in the topic."""
        topic = self.forums[chat_id][thread_id]
        topic.name = name
        chat_type = "private" if chat_id > 0 else "supergroup"
        await self._push({"message": {
            "message_id": next(self._message_ids), "date": int(time.time()), "chat": self._chat_json(chat_id, chat_type),
            "from": {"id": user_id, "is_bot": False, "first_name": "Tester"}, "message_thread_id": thread_id,
            "is_topic_message": True, "reply_to_message": topic.created, "forum_topic_edited": {"name": name}}})

    def close_topic(self, chat_id: int, thread_id: int) -> None:
        """Closed: members (and a bot that may not manage topics) can no longer post in it."""
        self.forums[chat_id][thread_id].closed = True

    def delete_topic(self, chat_id: int, thread_id: int) -> None:
        """Deleted with its messages: sending to it is "message thread not found"."""
        self.forums[chat_id][thread_id].deleted = True

    def _chat_json(self, chat_id: int, chat_type: str) -> dict[str, Any]:
        chat = _chat(chat_id, chat_type)
        if chat_id in self.forums and chat_type == "supergroup":
            chat["is_forum"] = True
        return chat

    def _thread(self, chat_id: int, params: dict[str, Any], reply_to: int | None) -> int | None:
        """Where a send goes, as Telegram decides: the topic named, or the replied message's topic;
        a topic deleted (or never there, or a chat without topics) is "message thread not
        found", a closed one TOPIC_CLOSED."""
        raw = params.get("message_thread_id")
        if raw is None:
            replied = self.user_messages.get((chat_id, reply_to or 0)) or {}
            if replied.get("is_topic_message"):
                return int(replied["message_thread_id"])
            bot_message = self._current(chat_id, reply_to) if reply_to is not None else None
            return bot_message.thread_id if bot_message is not None else None
        thread_id = int(raw)
        topic = self.forums.get(chat_id, {}).get(thread_id)
        if topic is None or topic.deleted:
            raise ApiError(400, "Bad Request: message thread not found")
        if topic.closed:
            raise ApiError(400, "Bad Request: TOPIC_CLOSED")
        return thread_id

    def delete_message(self, chat_id: int, message_id: int) -> None:
        """Someone (the user, an admin, a cleaner bot) deletes a message: replies to it then fail."""
        self.deleted.add((chat_id, message_id))

    async def _deliver(self, message: dict[str, Any]) -> int:
        """Records a user's message; in a group under privacy mode only what is meant for the bot
        reaches it: commands (not addressed to another bot), replies to its messages, mentions."""
        chat_id, message_id = message["chat"]["id"], message["message_id"]
        self.user_messages[(chat_id, message_id)] = message
        text = message.get("text", "")
        if message["chat"]["type"] != "private" and text.startswith("/") and chat_id in self.commands_deleted_in:
            self.deleted.add((chat_id, message_id))
        if message["chat"]["type"] != "private" and self.privacy_mode and not _meant_for_bot(message):
            self.withheld.append(message)
            return message_id
        await self._push({"message": message})
        return message_id

    async def press_button(self, sent: Sent, callback_data: str, *, from_chat: int | None = None,
                           user_id: int | None = None) -> str:
        """Presses a button under `sent`; `from_chat` forges the press as coming from elsewhere."""
        query_id = f"q{next(self._update_ids)}"
        chat_id = from_chat if from_chat is not None else sent.chat_id
        await self._push({"callback_query": {
            "id": query_id, "chat_instance": str(chat_id), "data": callback_data,
            "from": {"id": user_id or chat_id, "is_bot": False, "first_name": "Tester"},
            "message": {"message_id": sent.message_id, "date": int(time.time()), "text": sent.plain,
                        "chat": self._chat_json(chat_id, "private" if chat_id > 0 else "supergroup"),
                        "from": _bot_user(),
                        **({"message_thread_id": sent.thread_id, "is_topic_message": True} if sent.thread_id else {})},
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
        _REQUEST.set(request)
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
            self.rejected_at.append(time.time())
            return _fail(exc.status, exc.description, exc.retry_after, exc.parameters)
        return web.json_response({"ok": True, "result": result})

    async def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return _bot_user() | {"can_join_groups": True, "can_read_all_group_messages": False,
                              "supports_inline_queries": False,
                              "has_topics_enabled": any(chat > 0 for chat in self.forums)}

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        async with self._changed:
            self.webhook = None
            if params.get("drop_pending_updates") in (True, "true", "True"):
                self._updates.clear()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            self._webhook_task = None
        return True

    async def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return await self._api_deleteWebhook(params)
        parts = urlsplit(url)
        # Telegram takes HTTPS only; a local Bot API server (and this fake) also plain HTTP.
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise ApiError(400, "Bad Request: bad webhook: secret token contains unallowed characters")
        async with self._changed:
            self.webhook = {"url": url, "secret_token": secret, "allowed_updates": params.get("allowed_updates")}
            if params.get("drop_pending_updates") in (True, "true", "True"):
                self._updates.clear()
            self._changed.notify_all()
        if self._webhook_task is None:
            self._webhook_task = asyncio.create_task(self._deliver_to_webhook())
        return True

    async def _api_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        hook = self.webhook or {}
        info: dict[str, Any] = {"url": hook.get("url", ""), "has_custom_certificate": False,
                                "pending_update_count": len(self._updates)}
        if hook.get("allowed_updates"):
            info["allowed_updates"] = hook["allowed_updates"]
        return info

    async def wait_for_webhook(self, timeout: float = 10.0) -> dict[str, Any]:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.webhook is not None), timeout)
        assert self.webhook is not None
        return self.webhook

    async def _deliver_to_webhook(self) -> None:
        """As Telegram does: one update at a time, POSTed with the secret header, retried until 2xx."""
        turn = itertools.count()
        async with aiohttp.ClientSession() as session:
            while True:
                async with self._changed:
                    await self._changed.wait_for(lambda: self.webhook is not None and bool(self._updates))
                    hook, update = self.webhook, self._updates[0]
                assert hook is not None
                url = hook["url"]
                if self.webhook_routes:
                    base = self.webhook_routes[next(turn) % len(self.webhook_routes)]
                    url = base.rstrip("/") + (urlsplit(url).path or "/")
                headers = {"X-Telegram-Bot-Api-Secret-Token": hook["secret_token"]} if hook["secret_token"] else {}
                try:
                    async with session.post(url, json=update, headers=headers,
                                            timeout=aiohttp.ClientTimeout(total=10)) as answer:
                        status = answer.status
                except (aiohttp.ClientError, TimeoutError):
                    status = 0
                self.webhook_posts.append((url, status))
                if 200 <= status < 300:
                    async with self._changed:
                        if self._updates and self._updates[0] is update:
                            self._updates.pop(0)
                        self._changed.notify_all()
                else:
                    await asyncio.sleep(0.2)  # Telegram retries later; here soon

    async def post_update(self, url: str, update: dict[str, Any], secret: str | None) -> int:
        """A request to the bot's webhook from anyone (a forger, say): the HTTP status it got."""
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        async with aiohttp.ClientSession() as session:
            async with session.post(url, json=update, headers=headers) as answer:
                return answer.status

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
        if self.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        request = _REQUEST.get()
        async with self._changed:
            self._poll_serial += 1
            serial = self._poll_serial
            self._changed.notify_all()  # an earlier getUpdates still waiting is terminated
            if offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            if not self._updates and timeout > 0:
                try:
                    await asyncio.wait_for(self._changed.wait_for(
                        lambda: bool(self._updates) or self._closing or self._poll_serial != serial), timeout)
                except TimeoutError:
                    pass
            if self._poll_serial != serial and not self._updates:
                if request.transport is None or request.transport.is_closing():
                    return []  # its client is gone: nobody to tell
                raise ApiError(409, "Conflict: terminated by other getUpdates request; "
                                    "make sure that only one bot instance is running")
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
        self._check_not_upgraded(chat_id)
        reply_to = self._reply_to(chat_id, params)
        thread_id = self._thread(chat_id, params, reply_to)
        charged = self._flood_check(params)
        message_id = next(self._message_ids)
        sent = Sent(chat_id, message_id, text, plain, params.get("reply_markup"), reply_to=reply_to,
                    thread_id=thread_id, silent=_flag(params.get("disable_notification")),
                    paid=_flag(params.get("allow_paid_broadcast")), charged=charged)
        return await self._record(sent)

    async def _api_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        """A photo uploaded as multipart/form-data, as the bot does; file ids and URLs are not served here."""
        chat_id = _chat_id(params)
        upload = params.get("photo")
        if upload is None:
            raise ApiError(400, "Bad Request: there is no photo in the request")
        if not isinstance(upload, web.FileField):
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        photo = upload.file.read()
        if len(photo) > MAX_PHOTO_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        _check_image(photo)
        caption = str(params.get("caption", ""))
        plain = self._check_text(caption, params.get("parse_mode"), limit=MAX_CAPTION, empty_ok=True)
        if chat_id in self.blocked_chats:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        self._check_not_upgraded(chat_id)
        reply_to = self._reply_to(chat_id, params)
        thread_id = self._thread(chat_id, params, reply_to)
        self._flood_check()
        sent = Sent(chat_id, next(self._message_ids), caption, plain, params.get("reply_markup"), photo=photo,
                    reply_to=reply_to, thread_id=thread_id, silent=_flag(params.get("disable_notification")))
        return await self._record(sent)

    async def _record(self, sent: Sent) -> dict[str, Any]:
        """A message the bot sent (text, photo or document), once its buttons pass Telegram's checks."""
        self._check_markup(sent.reply_markup, sent.chat_id)
        async with self._changed:
            self.sent.append(sent)
            self._changed.notify_all()
        return _message_json(sent)

    def photos_to(self, chat_id: int) -> list[Sent]:
        return [m for m in self.sent if m.chat_id == chat_id and m.photo is not None]

    async def _api_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        """A file uploaded as multipart/form-data (50 MB at most); file ids and URLs are not served here."""
        chat_id = _chat_id(params)
        upload = params.get("document")
        if upload is None:
            raise ApiError(400, "Bad Request: there is no document in the request")
        if not isinstance(upload, web.FileField):
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        document = upload.file.read()
        if not document:
            raise ApiError(400, "Bad Request: file must be non-empty")
        if len(document) > MAX_DOCUMENT_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        caption = str(params.get("caption", ""))
        plain = self._check_text(caption, params.get("parse_mode"), limit=MAX_CAPTION, empty_ok=True)
        if chat_id in self.blocked_chats:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        self._check_not_upgraded(chat_id)
        reply_to = self._reply_to(chat_id, params)
        thread_id = self._thread(chat_id, params, reply_to)
        self._flood_check()
        sent = Sent(chat_id, next(self._message_ids), caption, plain, params.get("reply_markup"),
                    document=document, filename=upload.filename, reply_to=reply_to, thread_id=thread_id,
                    silent=_flag(params.get("disable_notification")))
        return await self._record(sent)

    def documents_to(self, chat_id: int) -> list[Sent]:
        return [m for m in self.sent if m.chat_id == chat_id and m.document is not None]

    async def _api_getFile(self, params: dict[str, Any]) -> dict[str, Any]:
        """A file a user sent, to download from /file/bot<token>/<file_path> (20 MB at most, as Telegram)."""
        file_id = str(params.get("file_id", ""))
        stored = self.files.get(file_id)
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        path, data = stored
        if len(data) > MAX_DOWNLOAD_BYTES:
            raise ApiError(400, "Bad Request: file is too big")
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(data), "file_path": path}

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401, text="Unauthorized")
        for path, data in self.files.values():
            if path == request.match_info["path"]:
                self.downloads.append(path)
                return web.Response(body=data, content_type="application/octet-stream")
        return web.Response(status=404, text="Not Found")

    async def user_sends_document(self, chat_id: int, filename: str, data: bytes, *, caption: str = "",
                                  user_id: int | None = None, chat_type: str = "private",
                                  mime_type: str = "text/csv") -> int:
        """The user sends a file (with a caption, which may be a command); returns its message id."""
        file_id = f"doc{next(self._update_ids)}"
        self.files[file_id] = (f"documents/file_{len(self.files)}_{filename}", data)
        user = {"id": user_id or chat_id, "is_bot": False, "first_name": "Tester"}
        message: dict[str, Any] = {
            "message_id": next(self._message_ids), "date": int(time.time()), "chat": _chat(chat_id, chat_type),
            "from": user, "document": {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": filename,
                                       "mime_type": mime_type, "file_size": len(data)},
        }
        if caption:
            message["caption"] = caption
            if caption.startswith("/"):
                message["caption_entities"] = [{"type": "bot_command", "offset": 0,
                                                "length": _utf16_len(caption.split()[0])}]
        return await self._deliver(message)

    async def upgrade_group(self, chat_id: int, *, user_id: int | None = None, announce: bool = True) -> int:
        """Telegram turns the group into a supergroup with a new id: sending to the old id is then
        refused (400, migrate_to_chat_id), and the bot gets both service messages (which privacy
        mode never withholds; `announce=False`: the bot missed them, e.g. it was offline longer
        than Telegram keeps updates). Returns the new id."""
        new_id = -1_000_000_000_000 + chat_id  # supergroup ids look like -100xxxxxxxxxx
        self.migrated[chat_id] = new_id
        if not announce:
            return new_id
        user = {"id": user_id or 1, "is_bot": False, "first_name": "Tester"}
        now = int(time.time())
        await self._push({"message": {"message_id": next(self._message_ids), "date": now, "from": user,
                                      "chat": _chat(chat_id, "group"), "migrate_to_chat_id": new_id}})
        await self._push({"message": {"message_id": 1, "date": now, "from": user,
                                      "chat": _chat(new_id, "supergroup"), "migrate_from_chat_id": chat_id}})
        return new_id

    def _check_not_upgraded(self, chat_id: int) -> None:
        if chat_id in self.migrated:
            raise ApiError(400, "Bad Request: group chat was upgraded to a supergroup chat",
                           parameters={"migrate_to_chat_id": self.migrated[chat_id]})

    async def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = _chat_id(params)
        message_id = int(params.get("message_id") or 0)
        text = str(params.get("text", ""))
        plain = self._check_text(text, params.get("parse_mode"))
        current = self._current(chat_id, message_id)
        if current is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if current.text == text and (current.reply_markup or None) == (params.get("reply_markup") or None):
            raise ApiError(400, "Bad Request: message is not modified: specified new message content and reply "
                                "markup are exactly the same as a current content and reply markup of the message")
        edit = Sent(chat_id, message_id, text, plain, params.get("reply_markup"))
        self._check_markup(edit.reply_markup, chat_id)
        async with self._changed:
            self.edits.append(edit)
            self._changed.notify_all()
        return _message_json(edit)

    def _current(self, chat_id: int, message_id: int) -> Sent | None:
        """One of the bot's messages as it reads now (its latest edit); None once deleted."""
        if (chat_id, message_id) in self.deleted:
            return None
        for message in itertools.chain(reversed(self.edits), self.sent):
            if message.chat_id == chat_id and message.message_id == message_id:
                return message
        return None

    def _reply_to(self, chat_id: int, params: dict[str, Any]) -> int | None:
        """The message a send replies to; a reply to a missing (deleted) one fails unless the bot
        allows sending without it, as Telegram does."""
        reply = params.get("reply_parameters") or {}
        message_id = reply.get("message_id", params.get("reply_to_message_id"))
        if message_id is None:
            return None
        message_id = int(message_id)
        exists = (chat_id, message_id) not in self.deleted and (
            (chat_id, message_id) in self.user_messages or self._current(chat_id, message_id) is not None)
        if exists:
            return message_id
        allowed = reply.get("allow_sending_without_reply", params.get("allow_sending_without_reply"))
        if allowed in (True, "true", "True", "1"):
            return None
        raise ApiError(400, "Bad Request: message to be replied not found")

    async def _api_getChatMember(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id, user_id = _chat_id(params), int(params.get("user_id") or 0)
        self.member_lookups += 1
        user = {"id": user_id, "is_bot": False, "first_name": "Tester"}
        if chat_id > 0:
            raise ApiError(400, "Bad Request: chat member status can't be checked in private chats")
        if user_id in self.group_admins.get(chat_id, set()):
            return {"status": "creator", "user": user, "is_anonymous": False}
        if (chat_id, user_id) in self.restricted:
            rights = dict.fromkeys((
                "can_send_messages", "can_send_audios", "can_send_documents", "can_send_photos", "can_send_videos",
                "can_send_video_notes", "can_send_voice_notes", "can_send_polls", "can_send_other_messages",
                "can_add_web_page_previews", "can_change_info", "can_invite_users", "can_pin_messages",
                "can_manage_topics", "can_edit_tag", "can_react_to_messages"), False)
            return {"status": "restricted", "user": user, "is_member": self.restricted[(chat_id, user_id)],
                    "until_date": 0, **rights}
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
    def _check_text(self, text: str, parse_mode: Any, *, limit: int = MAX_TEXT, empty_ok: bool = False) -> str:
        if parse_mode not in (None, "HTML"):
            raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode!r} in this fake")
        try:
            plain = parse_html(text) if parse_mode == "HTML" else text
        except ValueError as exc:
            raise ApiError(400, f"Bad Request: {exc}") from None
        if not plain.strip() and not empty_ok:
            raise ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(plain) > limit:
            raise ApiError(400, "Bad Request: message caption is too long" if limit == MAX_CAPTION
                           else "Bad Request: message is too long")
        return plain

    def _check_markup(self, markup: dict[str, Any] | None, chat_id: int = 0) -> None:
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if "web_app" in button:  # Mini App buttons: private chats only, https only
                    if chat_id < 0:
                        raise ApiError(400, "Bad Request: BUTTON_TYPE_INVALID")
                    _check_web_app_url(str((button["web_app"] or {}).get("url", "")))

    async def _api_setChatMenuButton(self, params: dict[str, Any]) -> bool:
        """A private chat's menu button (no chat_id: every private chat's default)."""
        chat_id = int(params.get("chat_id") or 0)
        if chat_id < 0:
            raise ApiError(400, "Bad Request: chat not found")  # menu buttons are for private chats
        button = params.get("menu_button") or {"type": "default"}
        if button.get("type") not in ("commands", "web_app", "default"):
            raise ApiError(400, "Bad Request: can't parse menu button: unsupported type")
        if button["type"] == "web_app":
            if not 1 <= len(str(button.get("text", ""))) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_TEXT_INVALID")
            _check_web_app_url(str((button.get("web_app") or {}).get("url", "")))
        self.menu_buttons[chat_id] = button
        return True

    def _flood_check(self, params: dict[str, Any] | None = None) -> bool:
        """Telegram's broadcast limits over any one-second stretch; True when this message is charged.

        Any second carries 30 free messages, flagged or not; a flagged one beyond them costs 0.1
        Star, up to 1,000 messages in all. Without the flag, the 31st is refused.
        """
        now = time.monotonic()
        for recent in (self._recent_sends, self._recent_free):
            while recent and now - recent[0] > 1.0:
                recent.popleft()
        paid = (params or {}).get("allow_paid_broadcast") in (True, "true", "True", "1")
        free = len(self._recent_free) < MESSAGES_PER_SECOND
        if not (free or paid) or len(self._recent_sends) >= PAID_MESSAGES_PER_SECOND:
            raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
        if not free and self.stars < PAID_MESSAGE_STARS:
            raise ApiError(400, "Bad Request: BALANCE_TOO_LOW")
        if not free:
            self.stars -= PAID_MESSAGE_STARS
            self.stars_spent += PAID_MESSAGE_STARS
        else:
            self._recent_free.append(now)
        self._recent_sends.append(now)
        return not free

    def busiest_second(self, messages: list[Sent] | None = None) -> int:
        """The most messages accepted within any one second (sliding), from their timestamps."""
        times = sorted(m.at for m in (self.sent if messages is None else messages))
        return max((bisect.bisect_right(times, t + 1.0) - i for i, t in enumerate(times)), default=0)


def _open_event() -> asyncio.Event:
    event = asyncio.Event()
    event.set()
    return event


def _flag(value: Any) -> bool:
    return value in (True, "true", "True", "1")


def _message_json(message: Sent) -> dict[str, Any]:
    chat_type = "private" if message.chat_id > 0 else "supergroup"
    answer = {"message_id": message.message_id, "date": int(time.time()), "chat": _chat(message.chat_id, chat_type),
              "from": _bot_user(), "text": message.plain}
    if message.thread_id is not None:
        answer |= {"message_thread_id": message.thread_id, "is_topic_message": True}
        if chat_type == "supergroup":
            answer["chat"]["is_forum"] = True
    if message.document is not None:
        del answer["text"]
        answer["caption"] = message.plain
        answer["document"] = {"file_id": f"doc{message.message_id}", "file_unique_id": f"u{message.message_id}",
                              "file_name": message.filename or "file", "file_size": len(message.document)}
    if message.photo is not None:
        width, height = _png_size(message.photo) or (0, 0)
        del answer["text"]
        answer["caption"] = message.plain
        answer["photo"] = [{"file_id": f"photo{message.message_id}", "file_unique_id": f"u{message.message_id}",
                            "width": width, "height": height, "file_size": len(message.photo)}]
    return answer


def _png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR chunk; None when `data` is not a PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _check_image(data: bytes) -> None:
    """Telegram takes PNG and JPEG photos within its dimension limits; anything else fails to process."""
    size = _png_size(data)
    if size is None and data[:3] != b"\xff\xd8\xff":
        raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
    if size is not None:
        width, height = size
        if not width or not height or width + height > 10_000 or max(width, height) / min(width, height) > 20:
            raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")


def _meant_for_bot(message: dict[str, Any]) -> bool:
    """What a bot in privacy mode receives from a group: commands (not another bot's), replies to
    its own messages, and messages that mention it."""
    text = message.get("text", "")
    if text.startswith("/"):
        command = text.split()[0]
        return "@" not in command or command.lower().endswith("@" + BOT_USERNAME.lower())
    replied = message.get("reply_to_message") or {}
    return (replied.get("from") or {}).get("id") == BOT_ID or f"@{BOT_USERNAME}".lower() in text.lower()


def _check_web_app_url(url: str) -> None:
    """Telegram takes only https:// Mini App URLs (its test environment also http://); this fake
    takes http:// for a loopback host, so tests can serve the page locally."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1"):
        return
    raise ApiError(400, "Bad Request: BUTTON_URL_INVALID" if parts.scheme not in ("http", "https")
                   else "Bad Request: Only HTTPS links are allowed")


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


def _fail(status: int, description: str, retry_after: int | None = None,
          parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None or parameters:
        body["parameters"] = (parameters or {}) | ({"retry_after": retry_after} if retry_after is not None else {})
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
