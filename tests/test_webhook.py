"""Webhook mode with two real processes behind a (fake) load balancer: Telegram posts updates with
the secret header, both replicas answer commands, forged updates get 403, nobody calls getUpdates."""

from __future__ import annotations

import time
from pathlib import Path

from bot.settings import Settings
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram
from tests.processes import WORKING_LINE, BotProcess, free_port, spawn, working_and_standby

HOOK_PATH = "/telegram/updates"
USERS = range(7001, 7011)
FORGED_CHAT = 7999


async def start_replicas(tmp_path: Path, telegram: FakeTelegram, exchange: FakeExchange,
                         database_url: str) -> tuple[list[str], BotProcess, BotProcess]:
    """Two replicas, each on its own port, one public URL; the fake spreads updates over both."""
    ports = [free_port(), free_port()]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    public = f"https://bot.example.com{HOOK_PATH}"
    processes = []
    for name, port in zip(("first", "second"), ports):
        process = await spawn(tmp_path, name, telegram, exchange, database_url,
                              WEBHOOK_URL=public, WEBHOOK_LISTEN=f"127.0.0.1:{port}")
        processes.append(process)
        if name == "first":
            await process.wait_for_line(WORKING_LINE)
    working, standby = await working_and_standby(*processes)
    await standby.wait_for_line(f"127.0.0.1:{ports[processes.index(standby)]}")  # it serves too
    telegram.webhook_routes = bases
    return bases, working, standby


async def test_both_replicas_answer_commands_posted_by_telegram_and_nobody_polls(
    tmp_path: Path, telegram: FakeTelegram, exchange: FakeExchange, database_url: str
) -> None:
    bases, working, standby = await start_replicas(tmp_path, telegram, exchange, database_url)
    try:
        hook = await telegram.wait_for_webhook()
        for user in USERS:
            await telegram.user_sends(user, "/help")
        for user in USERS:
            await telegram.wait_for_message(user, "/alert", timeout=20)
        await telegram.user_sends(USERS[0], "/alert BTCUSDT 99999")
        assert "#1" in (await telegram.wait_for_message(USERS[0], "✅", timeout=20)).plain
    finally:
        await standby.stop()
        await working.stop()
    assert hook["url"] == f"https://bot.example.com{HOOK_PATH}"
    assert hook["allowed_updates"] == ["message", "callback_query"]
    token = Settings(_env_file=None, telegram_bot_token=telegram.token).webhook_token()  # type: ignore[call-arg]
    assert hook["secret_token"] == token  # derived from the bot token: every replica agrees
    served = {url.removesuffix(HOOK_PATH) for url, status in telegram.webhook_posts if status == 200}
    assert served == set(bases), telegram.webhook_posts  # both replicas answered
    methods = {method for method, _ in telegram.calls}
    assert "getUpdates" not in methods
    assert "deleteWebhook" not in methods


async def test_an_update_without_the_right_secret_is_refused_with_403(
    tmp_path: Path, telegram: FakeTelegram, exchange: FakeExchange, database_url: str
) -> None:
    bases, working, standby = await start_replicas(tmp_path, telegram, exchange, database_url)
    forged = {"update_id": 10**6, "message": {
        "message_id": 1, "date": int(time.time()), "text": "/help",
        "chat": {"id": FORGED_CHAT, "type": "private", "first_name": "Mallory"},
        "from": {"id": FORGED_CHAT, "is_bot": False, "first_name": "Mallory"},
        "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
    }}
    try:
        hook = await telegram.wait_for_webhook()
        statuses = [await telegram.post_update(base + HOOK_PATH, forged, secret)
                    for base in bases for secret in (None, "wrong", hook["secret_token"] + "x")]
        await telegram.user_sends(USERS[0], "/help")  # a real update after the forged ones
        await telegram.wait_for_message(USERS[0], "/alert", timeout=20)
    finally:
        await standby.stop()
        await working.stop()
    assert statuses == [403] * 6
    assert telegram.messages_to(FORGED_CHAT) == []


async def test_going_back_to_polling_deletes_the_webhook(
    tmp_path: Path, telegram: FakeTelegram, exchange: FakeExchange, database_url: str
) -> None:
    await telegram._api_setWebhook({"url": "https://old.example.com/hook", "secret_token": "old"})
    process = await spawn(tmp_path, "polling", telegram, exchange, database_url)
    try:
        await process.wait_for_line(WORKING_LINE)
        await telegram.user_sends(USERS[0], "/help")
        await telegram.wait_for_message(USERS[0], "/alert", timeout=20)
    finally:
        await process.stop()
    assert telegram.webhook is None
    methods = [method for method, _ in telegram.calls]
    assert "deleteWebhook" in methods and methods.index("deleteWebhook") < methods.index("getUpdates")


async def test_the_guided_alert_goes_on_when_its_steps_land_on_different_replicas(
    tmp_path: Path, telegram: FakeTelegram, exchange: FakeExchange, database_url: str
) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    bases, working, standby = await start_replicas(tmp_path, telegram, exchange, database_url)
    user = USERS[0]
    try:
        await telegram.wait_for_webhook()
        telegram.webhook_routes = [bases[0]]
        await telegram.user_sends(user, "/alert")
        ask_symbol = await telegram.wait_for_message(user, "Which symbol", timeout=20)
        telegram.webhook_routes = [bases[1]]
        await telegram.press_button(ask_symbol, "gs:BTCUSDT")
        ask_level = await telegram.wait_for_message(user, "At what price", timeout=20)
        telegram.webhook_routes = [bases[0]]
        await telegram.user_sends(user, "70000 from the guide")
        confirm = await telegram.wait_for_message(user, "Create this alert?", timeout=20)
        telegram.webhook_routes = [bases[1]]
        await telegram.press_button(confirm, "gc:yes")
        created = await telegram.wait_for_message(user, "✅ Alert", timeout=20)
    finally:
        await standby.stop()
        await working.stop()
    assert "64000.00" in ask_level.plain
    assert "BTCUSDT rises to ≥ 70000" in created.plain and "from the guide" in created.plain
    steps = [url.removesuffix(HOOK_PATH) for url, status in telegram.webhook_posts if status == 200]
    assert steps == [bases[0], bases[1], bases[0], bases[1]]
