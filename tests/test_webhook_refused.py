"""A webhook Telegram refuses: WEBHOOK_URL must be https:// for Telegram's own API (plain http for a
self-hosted Bot API server), and a refused webhook shows as 503 on /healthz, on any role."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.runtime.health import HealthState, judge
from bot.settings import Settings, SettingsError, load_settings
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram
from tests.processes import WORKING_LINE, free_port, spawn
from tests.test_health_metrics import wait_for_status

TOKEN = "123456:ABC-def"


def test_webhook_url_must_be_https_for_telegrams_own_api() -> None:
    with pytest.raises(SettingsError, match="WEBHOOK_URL is invalid: expected the public https://") as refused:
        load_settings(Settings, _env_file=None, telegram_bot_token=TOKEN, webhook_url="http://bot.example.com/hook")
    assert "\n" not in str(refused.value)
    good = load_settings(Settings, _env_file=None, telegram_bot_token=TOKEN, webhook_url="https://bot.example.com/hook")
    assert good.webhook_url == "https://bot.example.com/hook"


def test_a_self_hosted_bot_api_server_may_post_to_plain_http() -> None:
    settings = load_settings(Settings, _env_file=None, telegram_bot_token=TOKEN,
                             telegram_api_url="http://127.0.0.1:8081", webhook_url="http://10.0.0.5:8080/hook")
    assert settings.webhook_url == "http://10.0.0.5:8080/hook"


def test_a_refused_webhook_makes_health_503_on_any_role() -> None:
    for role in ("working", "standby"):
        status, body = judge(HealthState(role=role, database_ok=True, active_alerts=False, prices_age=None,
                                         working_for=1.0, webhook_refused=True), 60.0)
        assert (status, json.loads(body)["status"]) == (503, "Telegram refused WEBHOOK_URL")


async def test_healthz_says_503_when_telegram_refuses_the_webhook(
    tmp_path: Path, telegram: FakeTelegram, exchange: FakeExchange, database_url: str,
) -> None:
    telegram.fail_next("setWebhook", 400, "Bad Request: bad webhook: Failed to resolve host")
    port, hook = free_port(), free_port()
    process = await spawn(tmp_path, "bot", telegram, exchange, database_url, WEBHOOK_URL="https://bot.example.com/hook",
                          WEBHOOK_LISTEN=f"127.0.0.1:{hook}", METRICS_LISTEN=f"127.0.0.1:{port}")
    try:
        await process.wait_for_line(WORKING_LINE)
        await process.wait_for_line("Telegram refused WEBHOOK_URL")
        refused = await wait_for_status(f"http://127.0.0.1:{port}/healthz", 503)
    finally:
        await process.stop()
    assert refused["status"] == "Telegram refused WEBHOOK_URL"
