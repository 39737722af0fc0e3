"""All settings in one place, read from the environment and `.env`."""

from __future__ import annotations

from typing import Annotated, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line for the operator."""


class ExchangeSettings(BaseSettings):
    """What talking to Binance needs; `pricealert prices` reads only these."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    binance_ws_url: str = "wss://ws-fapi.binance.com/ws-fapi/v1"
    exchange_timeout: float = Field(default=10.0, gt=0, le=120)
    weight_warning_share: float = Field(default=0.5, gt=0, le=1)

    @field_validator("binance_ws_url")
    @classmethod
    def _ws_url(cls, value: str) -> str:
        if not value.startswith(("ws://", "wss://")):
            raise ValueError("expected a ws:// or wss:// URL, like wss://ws-fapi.binance.com/ws-fapi/v1")
        return value


class Settings(ExchangeSettings):
    telegram_bot_token: SecretStr
    telegram_api_url: str = "https://api.telegram.org"
    database_url: str = "sqlite+aiosqlite:///pricealert.db"
    # Each tick costs 2 of the 2400 weight per minute; 0.5 s is 10 % of the budget.
    poll_interval: float = Field(default=2.0, ge=0.5, le=3600)
    stale_after: float = Field(default=60.0, gt=0)
    max_alerts_per_chat: int = Field(default=100, ge=1, le=10_000)
    # Comma-separated ids; empty allows every chat. Admins are user ids and get /stats.
    allowed_chat_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()

    @field_validator("allowed_chat_ids", "admin_ids", mode="before")
    @classmethod
    def _id_list(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return frozenset(int(part) for part in value.replace(";", ",").split(",") if part.strip())
            except ValueError:
                raise ValueError("expected comma-separated numeric ids, like 123456,-1001234567890") from None
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
