"""Texts a user reads, settings an operator writes, and logs that never show the token."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from decimal import Decimal

import pytest

from bot.texts import USAGE, Texts
from bot.alerts.rules import Direction
from bot.logs import RedactTokenFilter
from bot.settings import SettingsError, load_settings
from tests.fakes.telegram import parse_html

TOKEN = "123456:AAE-secret_token"


def test_user_text_is_escaped_everywhere_it_appears() -> None:
    note = "<b>moon</b> & <script>"
    texts = Texts()
    html = texts.alert_fired(1, "BTCUSDT", Direction.UP, Decimal("1"), Decimal("1.0"), note)
    assert note in parse_html(html)  # Telegram shows the note as typed, not as markup
    alert = SimpleNamespace(id=1, symbol="X<Y", direction=Direction.DOWN, level=Decimal("1"), note=note,
                            state="active", repeat_seconds=None, expires_at=None, rearm_after=None,
                            window_seconds=None)
    html = texts.alert_list([alert], [alert], {}, 0, 1)
    assert note in parse_html(html) and "X<Y" in parse_html(html)
    assert note in parse_html(texts.alerts_created([alert], Decimal("2")))
    assert note in parse_html(texts.alert_expired(1, "X<Y", Direction.UP, Decimal("1"), note, fired=False))
    assert "<b>" in parse_html(texts.usage_error("bad_level", "<b>"))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_usage_error_is_valid_telegram_html(lang: str) -> None:
    texts = Texts(lang)
    for reason, template in USAGE.items():
        shown = parse_html(texts.usage_error(reason, "<&>"))
        assert "<&>" in shown or "{value}" not in template
    for html in (texts.start(), texts.help(), texts.unknown_symbol("<x>", ["BTCUSDT"])):
        parse_html(html)


def test_prices_are_never_shown_in_exponent_form() -> None:
    alert = SimpleNamespace(id=1, symbol="PEPE", direction=Direction.UP, level=Decimal("1E-7"), note="",
                            state="active", repeat_seconds=None, expires_at=None, rearm_after=None,
                            window_seconds=None)
    html = Texts().alerts_created([alert], Decimal("0.00000010"))
    assert "0.0000001" in html and "E-" not in html


def test_settings_need_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    with pytest.raises(SettingsError, match="TELEGRAM_BOT_TOKEN is not set"):
        load_settings(_env_file=None)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TELEGRAM_BOT_TOKEN", "nope", "TELEGRAM_BOT_TOKEN is invalid"),
        ("POLL_INTERVAL", "fast", "POLL_INTERVAL is invalid"),
        ("POLL_INTERVAL", "0.1", "POLL_INTERVAL is invalid"),
        ("DATABASE_URL", "sqlite:///x.db", "DATABASE_URL is invalid: expected sqlite\\+aiosqlite"),
        ("BINANCE_WS_URL", "https://x", "BINANCE_WS_URL is invalid"),
        ("TELEGRAM_API_URL", "api.telegram.org", "TELEGRAM_API_URL is invalid"),
    ],
)
def test_a_bad_setting_is_named_in_one_line(monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=message) as caught:
        load_settings(_env_file=None)
    assert "\n" not in str(caught.value)


def test_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("POLL_INTERVAL", "1.5")
    settings = load_settings(_env_file=None)
    assert settings.poll_interval == 1.5
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.database_url.startswith("sqlite+aiosqlite:///")


def test_token_never_reaches_the_log(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("httpx")
    logger.addFilter(RedactTokenFilter(TOKEN))
    try:
        with caplog.at_level(logging.INFO, logger="httpx"):
            logger.info('HTTP Request: POST %s "HTTP/1.1 200 OK"', f"https://api.telegram.org/bot{TOKEN}/getUpdates")
            logger.info("token %s", TOKEN)
    finally:
        logger.filters.clear()
    assert TOKEN not in caplog.text and "secret" not in caplog.text
    assert f"bot{TOKEN.split(':')[0]}:***/getUpdates" in caplog.text


def test_the_log_handler_redacts_secrets_in_messages_and_tracebacks() -> None:
    import io

    from bot.logs import RedactingFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(message)s", [TOKEN, "hook-secret_1"]))
    logger = logging.getLogger("some.library")
    logger.addHandler(handler)
    try:
        try:
            raise RuntimeError(f"The token `{TOKEN}` was rejected by the server; webhook hook-secret_1")
        except RuntimeError:
            logger.exception("connecting to postgresql+asyncpg://bot:s3cr%40t@db:5432/alerts failed")
        logger.warning("another bot: 987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0 in a repr")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "Traceback" in text  # the traceback is kept, only its secrets go
    for secret in (TOKEN.split(":")[1], "hook-secret_1", "s3cr%40t", "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"):
        assert secret not in text
    assert "postgresql+asyncpg://bot:***@db:5432/alerts" in text and "987654321:***" in text


def test_id_lists_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("ALLOWED_CHAT_IDS", "5, -1001234567890,")
    monkeypatch.setenv("ADMIN_IDS", "7")
    settings = load_settings(_env_file=None)
    assert settings.allowed_chat_ids == {5, -1001234567890} and settings.admin_ids == {7}
    monkeypatch.setenv("ADMIN_IDS", "me")
    with pytest.raises(SettingsError, match="ADMIN_IDS is invalid: expected comma-separated numeric ids"):
        load_settings(_env_file=None)
