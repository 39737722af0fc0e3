"""Who is asking: Telegram's signed `initData`, and the bot's own signed start token for groups.

Pure: strings, the bot token and the clock in; facts or `Unauthorized` out. No I/O, no logging
(the caller logs the reason, never the data).

initData, as core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app says:
take `hash` out, sort the remaining `key=value` pairs by key, join them with "\\n"; the secret is
HMAC-SHA256(key="WebAppData", msg=bot_token); valid when hex(HMAC-SHA256(secret, that string))
equals `hash`, compared in constant time. `auth_date` is then checked here: at most 24 hours old
(the bound most bots use), and not in the future (beyond a little clock skew).

A group cannot be learnt from initData (a t.me link gives only an opaque `chat_instance`), and
anyone can type a `startapp` parameter: so a group is named by a token only the bot can sign.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

MAX_AGE = 24 * 3600  # seconds an initData stays good
MAX_SKEW = 60  # seconds an auth_date may be ahead of our clock (two clocks never agree exactly)
MAX_INIT_DATA = 4096  # bytes; Telegram's are well under 1 KB: anything larger is not from it
START_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,512}")  # what t.me's startapp parameter may carry
_MAC_CHARS = 27  # base64url characters of the start token's signature: 160 bits


class Unauthorized(Exception):
    """initData or a start token that must not be believed; `reason` is safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class WebAppUser:
    """What a checked initData says: who opened the app, in which language, from which link."""

    user_id: int
    language_code: str | None
    auth_date: int
    start_param: str | None
    chat_type: str | None


def _secret(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def data_check_string(fields: Mapping[str, str]) -> str:
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def sign_init_data(fields: Mapping[str, str], bot_token: str) -> str:
    """initData as Telegram would send it for `fields` (the tests open the page with this)."""
    digest = hmac.new(_secret(bot_token), data_check_string(fields).encode(), hashlib.sha256).hexdigest()
    return urlencode({**{k: v for k, v in fields.items() if k != "hash"}, "hash": digest})


def check_init_data(init_data: str, bot_token: str, now: float, max_age: int = MAX_AGE) -> WebAppUser:
    """The user an initData names, if Telegram signed it for this bot within `max_age` seconds."""
    if not init_data or len(init_data.encode("utf-8", "replace")) > MAX_INIT_DATA:
        raise Unauthorized("missing" if not init_data else "too long")
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True, errors="strict")
    except (ValueError, UnicodeDecodeError):
        raise Unauthorized("malformed") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise Unauthorized("a key twice")  # which one would the check and the reader use?
    given = fields.get("hash", "")
    expected = hmac.new(_secret(bot_token), data_check_string(fields).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(given.encode("ascii", "replace"), expected.encode()):
        raise Unauthorized("bad signature")
    try:
        auth_date = int(fields["auth_date"])
    except (KeyError, ValueError):
        raise Unauthorized("no auth_date") from None
    if auth_date > now + MAX_SKEW:
        raise Unauthorized("auth_date in the future")
    if now - auth_date > max_age:
        raise Unauthorized("expired")
    try:
        user = json.loads(fields["user"])
        user_id = user["id"]
    except (KeyError, ValueError, TypeError):
        raise Unauthorized("no user") from None
    if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0:
        raise Unauthorized("no user")
    language = user.get("language_code")
    return WebAppUser(
        user_id=user_id, language_code=language if isinstance(language, str) else None, auth_date=auth_date,
        start_param=fields.get("start_param") or None, chat_type=fields.get("chat_type") or None,
    )


def _token_key(bot_token: str) -> bytes:
    return hmac.new(b"pricealert startapp", bot_token.encode(), hashlib.sha256).digest()


def _mac(bot_token: str, payload: str) -> str:
    digest = hmac.new(_token_key(bot_token), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:_MAC_CHARS]


def sign_start_token(chat_id: int, bot_token: str) -> str:
    """`m1001234567890_<signature>` for group -1001234567890: fits t.me's startapp ([A-Za-z0-9_-], ≤ 512)."""
    payload = f"m{-chat_id}" if chat_id < 0 else f"p{chat_id}"
    return f"{payload}_{_mac(bot_token, payload)}"


def read_start_token(token: str, bot_token: str) -> int:
    """The chat a start token names, if this bot signed it."""
    if not START_TOKEN.fullmatch(token):
        raise Unauthorized("malformed start token")
    payload, _, mac = token.partition("_")
    if not re.fullmatch(r"[mp][1-9][0-9]{0,18}", payload) or not hmac.compare_digest(
            mac.encode(), _mac(bot_token, payload).encode()):
        raise Unauthorized("bad start token")
    number = int(payload[1:])
    return -number if payload[0] == "m" else number
