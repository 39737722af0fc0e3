"""All settings in one place, read from the environment and `.env`."""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, TypeVar

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


OFFICIAL_API = "https://api.telegram.org"


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line for the operator."""


class ExchangeSettings(BaseSettings):
    """What talking to Binance needs; `pricealert prices` reads only these."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    binance_ws_url: str = "wss://ws-fapi.binance.com/ws-fapi/v1"
    binance_rest_url: str = "https://fapi.binance.com"  # REST klines, for charts
    exchange_timeout: float = Field(default=10.0, gt=0, le=120)
    weight_warning_share: float = Field(default=0.5, gt=0, le=1)

    @field_validator("binance_ws_url")
    @classmethod
    def _ws_url(cls, value: str) -> str:
        if not value.startswith(("ws://", "wss://")):
            raise ValueError("expected a ws:// or wss:// URL, like wss://ws-fapi.binance.com/ws-fapi/v1")
        return value

    @field_validator("binance_rest_url")
    @classmethod
    def _rest_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL, like https://fapi.binance.com")
        return value.rstrip("/")


class Settings(ExchangeSettings):
    telegram_bot_token: SecretStr
    # Market streams for wicks between checks (kline_1m); empty turns that off.
    binance_stream_url: str = "wss://fstream.binance.com/market/stream"
    telegram_api_url: str = OFFICIAL_API
    database_url: str = "sqlite+aiosqlite:///pricealert.db"
    # Each tick costs 2 of the 2400 weight per minute; 0.5 s is 10 % of the budget.
    poll_interval: float = Field(default=2.0, ge=0.5, le=3600)
    stale_after: float = Field(default=60.0, gt=0)
    max_alerts_per_chat: int = Field(default=100, ge=1, le=10_000)
    # A symbol missing from Binance's all-symbol answer this long is no longer traded: its alerts end.
    symbol_gone_after: float = Field(default=900.0, ge=1, le=30 * 86400)
    # Comma-separated ids; empty allows every chat. Admins are user ids and get /stats.
    allowed_chat_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    # Commands and button presses one chat may send per minute; ADMIN_IDS are exempt.
    commands_per_minute: int = Field(default=20, ge=1, le=1000)
    # Closed alerts and delivered messages are deleted this long after; at least the week that
    # /alerts shows fired alerts (with their re-arm buttons).
    retention_days: int = Field(default=90, ge=7, le=36500)
    # Webhook mode when set: Telegram posts updates to this public URL (its path is served), on
    # WEBHOOK_LISTEN; empty: the working process long-polls getUpdates. See bot.runtime.
    webhook_url: str = ""
    webhook_listen: str = "0.0.0.0:8080"
    webhook_secret: SecretStr | None = None  # default: derived from the token, so replicas agree
    metrics_listen: str = ""  # host:port for /healthz and /metrics; empty: off
    # Seconds between two hand-backs of freed memory to the system (bot/memory.py); 0: never.
    memory_trim_interval: float = Field(default=60.0, ge=0, le=3600)
    # -- Mini App (issue 23, bot/webapp; docs/webapp.md) --
    # The page's public https:// URL behind the reverse proxy (its path is the path served, ending
    # in "/"); empty: no app. http:// only for a loopback host, to try it locally.
    webapp_url: str = ""
    webapp_listen: str = "0.0.0.0:8080"  # host:port; may equal WEBHOOK_LISTEN or METRICS_LISTEN (one port)
    webapp_short_name: str = ""  # the app's short name from BotFather's /newapp: t.me links for groups
    # Serve the vendored telegram-web-app.js instead of telegram.org's (tests, offline trials only).
    webapp_local_sdk: bool = False
    # Fan-out past Telegram's free 30 messages a second (docs/fanout.md): what the free rate
    # cannot carry is sent with allow_paid_broadcast, up to 1,000 a second, 0.1 Star each from
    # the bot's balance (Paid Broadcasts enabled in @BotFather). Off: never pays.
    paid_broadcast: bool = False

    # Futures prices (issue 24, docs/futures.md): mark and index prices and funding from
    # `!markPrice@arr@1s` on BINANCE_STREAM_URL's host (empty turns them off as well); while that
    # stream is silent or refused, GET /fapi/v1/premiumIndex (weight 10) every this many seconds.
    mark_fallback_every: float = Field(default=5.0, ge=1, le=300)

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str, info: ValidationInfo) -> str:
        """Telegram posts updates only to HTTPS; a self-hosted Bot API server (TELEGRAM_API_URL
        set elsewhere) also to plain HTTP."""
        value = value.strip()
        official = info.data.get("telegram_api_url", OFFICIAL_API) == OFFICIAL_API
        schemes = ("https://",) if official else ("https://", "http://")
        if value and not value.startswith(schemes):
            raise ValueError("expected the public https:// URL Telegram posts to, like https://bot.example.com/telegram, or empty")
        return value

    @field_validator("webhook_listen", "metrics_listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        value = value.strip()
        host, _, port = value.rpartition(":")
        if value and not (host and port.isdigit() and 0 < int(port) < 65536):
            raise ValueError("expected host:port, like 0.0.0.0:8080")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_chars(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("expected 1 to 256 characters among A-Z a-z 0-9 _ - (Telegram's secret_token)")
        return value

    def webhook_token(self) -> str:
        """WEBHOOK_SECRET, or a hash of the bot token: every replica agrees without configuration."""
        if self.webhook_secret is not None:
            return self.webhook_secret.get_secret_value()
        token = self.telegram_bot_token.get_secret_value()
        return hashlib.sha256(f"pricealert webhook {token}".encode()).hexdigest()

    def secrets(self) -> list[str]:
        """What must never appear in a log line: the token, the webhook secret, the database password."""
        from sqlalchemy.engine import make_url

        password = make_url(self.database_url).password
        return [self.telegram_bot_token.get_secret_value(), self.webhook_token(), *([str(password)] if password else [])]

    @field_validator("allowed_chat_ids", "admin_ids", mode="before")
    @classmethod
    def _id_list(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return frozenset(int(part) for part in value.replace(";", ",").split(",") if part.strip())
            except ValueError:
                raise ValueError("expected comma-separated numeric ids, like 123456,-1001234567890") from None
        return value

    @field_validator("binance_stream_url")
    @classmethod
    def _stream_url(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("ws://", "wss://")):
            raise ValueError("expected a ws:// or wss:// URL, like wss://fstream.binance.com/market/stream, or empty")
        return value

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value().strip()
        bot_id, _, secret = token.partition(":")
        if not (bot_id.isdigit() and secret):
            raise ValueError("expected the token from @BotFather, like 123456:ABC-DEF...")
        return SecretStr(token)

    @field_validator("telegram_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL, like https://api.telegram.org")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "expected sqlite+aiosqlite:///FILE or postgresql+asyncpg://USER@HOST/DB"
            )
        return value


    @field_validator("webapp_url")
    @classmethod
    def _webapp_url(cls, value: str) -> str:
        """Telegram opens only https:// Mini Apps; http:// is allowed for a loopback host (a local
        trial, the tests). The path ends in "/" so the page's relative links stay under it."""
        from urllib.parse import urlsplit

        value = value.strip()
        if not value:
            return value
        parts = urlsplit(value)
        loopback = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
        if not parts.hostname or not (parts.scheme == "https" or loopback) or parts.query or parts.fragment:
            raise ValueError("expected the page's public https:// URL, like https://bot.example.com/app/, "
                             "or http://127.0.0.1:8080/app/ to try it locally, or empty")
        return value if parts.path.endswith("/") else value + "/"

    @field_validator("webapp_listen")
    @classmethod
    def _webapp_listen(cls, value: str) -> str:
        return cls._listen(value)

    @field_validator("webapp_short_name")
    @classmethod
    def _short_name(cls, value: str) -> str:
        value = value.strip()
        if value and not re.fullmatch(r"[A-Za-z0-9_]{3,30}", value):
            raise ValueError("expected the short name given to BotFather's /newapp, like chart (3-30 of A-Z a-z 0-9 _)")
        return value


AnySettings = TypeVar("AnySettings", bound=ExchangeSettings)


def load_settings(kind: type[AnySettings] = Settings, **overrides: object) -> AnySettings:  # type: ignore[assignment]
    """Read the settings, turning pydantic's report into one line per bad setting."""
    try:
        return kind(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "settings"
            if error["type"] == "missing":
                problems.append(f"{name} is not set")
            else:
                reason = error["msg"].removeprefix("Value error, ")
                problems.append(f"{name} is invalid: {reason}")
        raise SettingsError("; ".join(problems)) from None
