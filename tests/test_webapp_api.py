"""The Mini App's API over real HTTP (issue 23, points 2 and 3): as strict as the chat. The real
bot, its HTTP server serving the app, the fake Telegram, the fake exchange and fake klines."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import aiohttp
import pytest

from bot.webapp.auth import read_start_token
from tests.fakes.exchange import FakeExchange
from tests.fakes.rest import FakeBinanceRest
from tests.fakes.telegram import FakeTelegram
from tests.webapp_support import AppServer, group_token, init_data, serve_app

USER, OTHER = 1001, 2002
GROUP, ADMIN, MEMBER = -100888, 1001, 1003


@pytest.fixture
async def rest(exchange: FakeExchange) -> AsyncIterator[FakeBinanceRest]:
    fake = FakeBinanceRest(prices=exchange.prices)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def app(database_url: str, exchange: FakeExchange, telegram: FakeTelegram,
              rest: FakeBinanceRest) -> AsyncIterator[AppServer]:
    """A high COMMANDS_PER_MINUTE: only the limits test counts changes (`limited_app`)."""
    exchange.set_price("BTCUSDT", "64000.00")
    async with serve_app(database_url, exchange, telegram, rest, commands_per_minute=1000,
                         max_alerts_per_chat=3, webapp_short_name="chart") as server:
        yield server


@pytest.fixture
async def limited_app(database_url: str, exchange: FakeExchange, telegram: FakeTelegram,
                      rest: FakeBinanceRest) -> AsyncIterator[AppServer]:
    exchange.set_price("BTCUSDT", "64000.00")
    async with serve_app(database_url, exchange, telegram, rest, commands_per_minute=6,
                         max_alerts_per_chat=3) as server:
        yield server


async def call(app: AppServer, method: str, path: str, user: int | None = USER, body: Any = None, *,
               start: str | None = None, auth: str | None = None, raw: bytes | None = None) -> tuple[int, Any, Any]:
    headers = {}
    if auth is not None:
        headers["Authorization"] = auth
    elif user is not None:
        headers["Authorization"] = "tma " + init_data(app.token, user, start_param=start)
    async with aiohttp.ClientSession() as session:
        async with session.request(method, app.url + path, headers=headers, json=body if raw is None else None,
                                   data=raw) as response:
            data = await response.json() if response.content_type == "application/json" else await response.text()
            return response.status, data, response.headers


async def test_the_page_is_served_with_a_strict_policy(app: AppServer) -> None:
    status, page, headers = await call(app, "GET", "", user=None)
    assert status == 200 and "static/app.js" in page and "lightweight-charts.standalone.production.js" in page
    assert "static/vendor/telegram-web-app.js" in page  # WEBAPP_LOCAL_SDK: the vendored copy, not the network
    policy = headers["Content-Security-Policy"]
    # Scripts from the page itself and telegram.org, and one inline script: the first requests
    # (static/boot.js), named by the SHA-256 of exactly the text the page carries.
    inline = [body for body in re.findall(r"<script[^>]*>(.*?)</script>", page, re.S) if body.strip()]
    assert len(inline) == 1 and "P.sent" in inline[0]
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    script_src = re.search(r"script-src ([^;]*);", policy)
    assert script_src is not None and script_src.group(1) == f"'self' https://telegram.org 'sha256-{digest}'"
    assert "frame-ancestors https://web.telegram.org" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, script, headers = await call(app, "GET", "static/vendor/lightweight-charts.standalone.production.js", user=None)
    assert status == 200 and "TradingView" in script and headers["Content-Type"].startswith("application/javascript")
    assert (await call(app, "GET", "static/../api.py", user=None))[0] == 404


def test_in_production_the_page_loads_telegrams_script_from_telegram_org() -> None:
    from bot.webapp.api import TELEGRAM_SCRIPT, webapp_routes

    routes = webapp_routes(None, None, bot_token="1:a", roles=None, limiter=None, poll_interval=2,  # type: ignore[arg-type]
                           base_path="/app/", local_sdk=False)
    assert ("GET", "/app/", ) == routes[0][:2] and TELEGRAM_SCRIPT == "https://telegram.org/js/telegram-web-app.js"
    from bot.webapp import api
    page = (api.STATIC / "index.html").read_text().replace("{{TELEGRAM_SCRIPT}}", TELEGRAM_SCRIPT)
    assert '<script src="https://telegram.org/js/telegram-web-app.js">' in page


def _tampered(token: str) -> str:
    pairs = dict(parse_qsl(init_data(token, USER)))
    pairs["user"] = pairs["user"].replace(str(USER), str(OTHER))
    return "tma " + urlencode(pairs)


async def test_missing_forged_tampered_or_expired_initdata_gets_401(
        app: AppServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    refused = ["", "tma ", "Bearer x", "tma " + init_data("654321:someone-elses-token", USER), _tampered(app.token),
               "tma " + init_data(app.token, USER, auth_date=int(time.time()) - 86401),
               "tma " + init_data(app.token, USER, auth_date=int(time.time()) + 3600)]
    for auth in refused:
        for method, path in (("GET", "api/session"), ("GET", "api/alerts"), ("POST", "api/alerts")):
            status, body, headers = await call(app, method, path, auth=auth, body={"symbol": "BTCUSDT", "level": "70000"})
            assert (status, body) == (401, {"error": "unauthorized"}), auth
            assert headers["Cache-Control"] == "no-store"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert all(auth.removeprefix("tma ") not in logged for auth in refused if len(auth) > 10)
    assert app.token not in logged and "hash=" not in logged


async def test_create_move_note_and_delete_through_the_api_show_in_chat(
        app: AppServer, telegram: FakeTelegram) -> None:
    status, body, headers = await call(app, "POST", "api/alerts", body={"symbol": "btcusdt", "level": "70000", "note": "<b>tp</b>"})
    assert status == 201 and body["alert"]["level"] == "70000" and body["alert"]["direction"] == "up"
    assert headers["Cache-Control"] == "no-store"
    alert_id = body["alert"]["id"]
    status, body, _ = await call(app, "PATCH", f"api/alerts/{alert_id}", body={"level": "60000"})
    assert status == 200 and (body["alert"]["id"], body["alert"]["level"], body["alert"]["direction"]) == (alert_id, "60000", "down")
    assert body["alert"]["note"] == "<b>tp</b>"  # kept, and escaped wherever the chat shows it
    assert (await call(app, "PATCH", f"api/alerts/{alert_id}", body={"note": "new plan"}))[1]["alert"]["level"] == "60000"
    await telegram.user_sends(USER, "/alerts")
    listing = await telegram.wait_for_message(USER, "Your alerts")
    assert f"#{alert_id} BTCUSDT falls to ≤ 60000" in listing.plain and "new plan" in listing.plain
    status, body, _ = await call(app, "GET", "api/alerts")
    assert [g["symbol"] for g in body["groups"]] == ["BTCUSDT"] and body["groups"][0]["alerts"][0]["distance"] == "-6.25"
    assert (await call(app, "DELETE", f"api/alerts/{alert_id}"))[0] == 200
    assert (await call(app, "GET", "api/alerts"))[1]["count"] == 0


async def test_a_level_ten_times_away_is_asked_about_and_a_passed_one_waits(app: AppServer) -> None:
    status, body, _ = await call(app, "POST", "api/alerts", body={"symbol": "BTCUSDT", "level": "700000"})
    assert (status, body["error"], body["price"]) == (409, "far_level", "64000.00")
    assert (await call(app, "GET", "api/alerts"))[1]["count"] == 0
    status, body, _ = await call(app, "POST", "api/alerts", body={"symbol": "BTCUSDT", "level": "700000", "confirm": True})
    assert status == 201
    alert_id = body["alert"]["id"]
    status, body, _ = await call(app, "PATCH", f"api/alerts/{alert_id}", body={"level": "6000"})
    assert (status, body["error"]) == (409, "far_level")
    status, body, _ = await call(app, "PATCH", f"api/alerts/{alert_id}", body={"level": "64000.00"})
    assert status == 200 and body["passed"] is True and body["alert"]["state"] == "arming"


async def test_another_chats_alert_is_404_whichever_id(app: AppServer) -> None:
    status, body, _ = await call(app, "POST", "api/alerts", body={"symbol": "BTCUSDT", "level": "70000"})
    alert_id = body["alert"]["id"]
    for tried in (alert_id, alert_id + 1, "abc"):
        assert (await call(app, "PATCH", f"api/alerts/{tried}", user=OTHER, body={"level": "71000"}))[0] == 404
        assert (await call(app, "DELETE", f"api/alerts/{tried}", user=OTHER))[0] == 404
    status, body, _ = await call(app, "GET", "api/alerts")
    assert body["groups"][0]["alerts"][0]["level"] == "70000"
    assert (await call(app, "GET", "api/alerts", user=OTHER))[1]["count"] == 0


async def test_a_group_is_reached_only_by_a_signed_token_and_changed_only_by_its_admins(
        app: AppServer, telegram: FakeTelegram) -> None:
    telegram.group_admins[GROUP] = {ADMIN}
    token = group_token(app.token, GROUP)
    status, body, _ = await call(app, "GET", "api/session", user=MEMBER, start=token)
    assert (status, body["chat_id"], body["may_change"]) == (200, GROUP, False)
    status, body, _ = await call(app, "POST", "api/alerts", user=MEMBER, start=token, body={"symbol": "BTCUSDT", "level": "70000"})
    assert (status, body["error"]) == (403, "admins_only")
    status, body, _ = await call(app, "POST", "api/alerts", user=ADMIN, start=token, body={"symbol": "BTCUSDT", "level": "70000"})
    assert status == 201
    alert_id = body["alert"]["id"]
    assert (await call(app, "DELETE", f"api/alerts/{alert_id}", user=MEMBER, start=token))[0] == 403
    assert (await call(app, "GET", "api/alerts", user=MEMBER, start=token))[1]["count"] == 1
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert (await call(app, "GET", "api/alerts", user=ADMIN, start=forged))[0] == 403
    someone = group_token(app.token, OTHER)  # a token naming another user's private chat
    assert (await call(app, "GET", "api/alerts", user=USER, start=someone))[0] == 403
    assert (await call(app, "GET", "api/alerts", user=ADMIN))[1]["count"] == 0  # without a token: the user's own chat


async def test_the_chats_limits_apply_and_changes_count_with_commands(limited_app: AppServer,
                                                                      telegram: FakeTelegram) -> None:
    app = limited_app
    for level in ("70000", "71000", "72000"):
        assert (await call(app, "POST", "api/alerts", body={"symbol": "BTCUSDT", "level": level}))[0] == 201
    status, body, _ = await call(app, "POST", "api/alerts", body={"symbol": "BTCUSDT", "level": "73000"})
    assert (status, body["error"], body["limit"]) == (409, "too_many_alerts", 3)
    await telegram.user_sends(USER, "/alerts")  # the 5th change-or-command of the minute (limit 6)
    await telegram.wait_for_message(USER, "Your alerts")
    assert (await call(app, "PATCH", "api/alerts/1", body={"note": "sixth"}))[0] == 200
    status, body, _ = await call(app, "PATCH", "api/alerts/1", body={"note": "seventh"})
    assert (status, body["error"]) == (429, "slow_down")
    assert (await call(app, "GET", "api/alerts"))[0] == 200  # reading is not a command


async def test_numbers_and_notes_are_checked_as_in_chat(app: AppServer) -> None:
    for body, code in [
        ({"symbol": "BTCUSDT", "level": "-5"}, "bad_level"),
        ({"symbol": "BTCUSDT", "level": "0"}, "level_not_positive"),
        ({"symbol": "BTCUSDT", "level": "100000000"}, "level_too_large"),
        ({"symbol": "BTCUSDT", "level": "1.00000000001"}, "level_too_precise"),
        ({"symbol": "BTCUSDT", "level": 70000}, "bad_level"),  # numbers travel as strings, never floats
        ({"symbol": "BTCUSDT", "level": "70000", "note": "x" * 201}, "note_too_long"),
        ({"symbol": "BTC USDT!", "level": "70000"}, "bad_symbol"),
        ([1, 2], "bad_json"),
    ]:
        status, answer, _ = await call(app, "POST", "api/alerts", user=USER + len(code), body=body)
        assert (status, answer["error"]) == (400, code), body
    status, body, _ = await call(app, "POST", "api/alerts", raw=b"{" + b" " * 5000 + b"}")  # refused unread
    assert (status, body["error"]) == (413, "too_large")


async def test_the_chart_carries_exact_prices_and_the_chats_levels(app: AppServer) -> None:
    await call(app, "POST", "api/alerts", body={"symbol": "BTCUSDT", "level": "70000.5"})
    status, body, _ = await call(app, "GET", "api/chart?symbol=BTCUSDT&interval=15m")
    assert status == 200 and body["interval"] == "15m" and len(body["bars"]) == 96
    assert all(isinstance(value, str) for value in body["bars"][-1][1:]) and body["price"] == "64000.00"
    assert [(a["id"], a["level"]) for a in body["alerts"]] == [(1, "70000.5")]
    assert (await call(app, "GET", "api/chart?symbol=BTCUSDT&interval=7m"))[0] == 400
    status, body, _ = await call(app, "GET", "api/symbols?q=btc")
    assert body["suggestions"][0] == "BTCUSDT"


async def test_the_app_is_opened_from_the_menu_and_open_chart_buttons(
        app: AppServer, telegram: FakeTelegram, exchange: FakeExchange) -> None:
    menu = telegram.menu_buttons[0]
    assert menu["type"] == "web_app" and menu["web_app"]["url"] == app.url
    await telegram.user_sends(USER, "/alert BTCUSDT 65000")
    await telegram.wait_for_message(USER, "✅")
    await telegram.user_sends(USER, "/alerts")
    listing = await telegram.wait_for_message(USER, "Your alerts")
    assert listing.buttons()[-1]["web_app"] == {"url": app.url}
    exchange.set_price("BTCUSDT", "65100.00")
    fired = await telegram.wait_for_message(USER, "🔔")
    assert fired.buttons()[-1]["web_app"] == {"url": app.url}
    await telegram.user_sends(USER, "/chart BTCUSDT")
    chart = await telegram.wait_for_message(USER, "📈", timeout=30)
    assert chart.photo is not None and chart.buttons()[-1]["web_app"] == {"url": app.url + "?symbol=BTCUSDT"}
    telegram.group_admins[GROUP] = {ADMIN}
    await telegram.user_sends(GROUP, "/alerts", user_id=ADMIN, chat_type="supergroup")
    group_listing = await telegram.wait_for_message(GROUP, "alerts")
    link = urlsplit(group_listing.buttons()[-1]["url"])
    assert (link.netloc, link.path) == ("t.me", "/pricealert_test_bot/chart")
    assert read_start_token(dict(parse_qsl(link.query))["startapp"], app.token) == GROUP
    assert telegram.rejected == []  # no web_app button was sent to the group


async def test_telegram_refuses_web_app_buttons_in_groups_and_plain_http(telegram: FakeTelegram) -> None:
    """The fake does what Telegram does, so the bot's buttons above are checked for real."""
    async with aiohttp.ClientSession() as session:
        base = f"{telegram.url}/bot{telegram.token}"
        markup = {"inline_keyboard": [[{"text": "📈", "web_app": {"url": "https://example.org/app/"}}]]}
        async with session.post(f"{base}/sendMessage", json={"chat_id": GROUP, "text": "x", "reply_markup": markup}) as r:
            assert (await r.json())["description"] == "Bad Request: BUTTON_TYPE_INVALID"
        plain = {"type": "web_app", "text": "📈", "web_app": {"url": "http://example.org/app/"}}
        async with session.post(f"{base}/setChatMenuButton", json={"menu_button": plain}) as r:
            assert (await r.json())["description"] == "Bad Request: Only HTTPS links are allowed"
