"""The Mini App in a real browser (issue 23, point 4): Debian's chromium, driven by Playwright,
opens the page as Telegram does (initData in the URL fragment, signed with the tests' bot token)
against the bot's real HTTP server, the fake Telegram, the fake exchange and fake klines.

One bot, one database and one browser for the whole module (module-scoped fixtures, one event
loop); each test uses its own users and chats, so the tests stay independent."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio

from bot.storage import migrate
from bot.storage.models import AlertState
from tests.fakes.exchange import FakeExchange
from tests.fakes.rest import FakeBinanceRest
from tests.fakes.telegram import FakeTelegram
from tests.webapp_browser import chromium_path, launch, new_context, open_app, telegram_url
from tests.webapp_support import AppServer, group_token, init_data, serve_app

if chromium_path() is None:
    pytest.skip("chromium is not installed (.ci/run installs it): the Mini App's browser tests need it",
                allow_module_level=True)

from playwright.async_api import Browser, Page, Route, async_playwright, expect  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="module")
module_fixture = pytest_asyncio.fixture(loop_scope="module", scope="module")


@module_fixture
async def fakes(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[FakeExchange, FakeTelegram, FakeBinanceRest, str]]:
    exchange, telegram = FakeExchange(), FakeTelegram()
    await exchange.start()
    await telegram.start()
    exchange.set_price("BTCUSDT", "64000.00")
    exchange.set_price("ETHUSDT", "2600.00")
    rest = FakeBinanceRest(prices=exchange.prices)
    await rest.start()
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('webapp') / 'pricealert.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    yield exchange, telegram, rest, url
    await rest.stop()
    await telegram.stop()
    await exchange.stop()


@module_fixture
async def app(fakes: tuple[FakeExchange, FakeTelegram, FakeBinanceRest, str]) -> AsyncIterator[AppServer]:
    exchange, telegram, rest, url = fakes
    allowed = frozenset({*range(3001, 3011), -100999})  # the tests' chats; others are strangers
    async with serve_app(url, exchange, telegram, rest, webapp_short_name="chart", poll_interval=0.5,
                         allowed_chat_ids=allowed) as server:
        yield server


@module_fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await launch(playwright)
        yield launched
        await launched.close()


@pytest.fixture
def telegram(fakes: tuple[FakeExchange, FakeTelegram, FakeBinanceRest, str]) -> FakeTelegram:
    return fakes[1]


async def page_for(browser: Browser, app: AppServer, user: int, **options: object) -> Page:
    context = await new_context(browser)
    return await open_app(context, app.url, init_data(app.token, user, **options))  # type: ignore[arg-type]


async def until(page: Page, condition: str, timeout: float = 10.0) -> None:
    """Waits until the page's `condition` holds (evaluate works under the page's CSP)."""
    deadline = time.monotonic() + timeout
    while not await page.evaluate(condition):
        assert time.monotonic() < deadline, condition
        await asyncio.sleep(0.02)


async def chart_drawn(page: Page) -> None:
    await expect(page.locator("body[data-chart=drawn]")).to_have_count(1, timeout=10_000)


async def stored(app: AppServer, chat_id: int, alert_id: int):  # type: ignore[no-untyped-def]
    return await app.application.bot_data["store"].get_alert(chat_id, alert_id)


async def create_in_chat(telegram: FakeTelegram, chat_id: int, command: str, **options: object) -> int:
    before = len(telegram.sent)
    await telegram.user_sends(chat_id, command, **options)  # type: ignore[arg-type]
    answer = await telegram.wait_for_message(chat_id, "✅", after=before)
    return int(re.search(r"#(\d+)", answer.plain).group(1))  # type: ignore[union-attr]


async def test_dragging_a_line_moves_the_level_in_the_database_and_in_chat(
        browser: Browser, app: AppServer, telegram: FakeTelegram) -> None:
    user = 3001
    alert_id = await create_in_chat(telegram, user, "/alert BTCUSDT 66000 tp")
    page = await page_for(browser, app, user)
    await chart_drawn(page)
    y = await page.evaluate(f"window.pricealert.lineY({alert_id})")
    box = await page.locator("#chart").bounding_box()
    assert y is not None and box is not None
    x = box["x"] + box["width"] / 3
    await page.mouse.move(x, box["y"] + y)
    await page.mouse.down()
    await page.mouse.move(x, box["y"] + y + 30, steps=6)  # down: a lower level
    await page.mouse.up()
    await expect(page.locator("#problem")).to_contain_text(f"#{alert_id}")
    alert = await stored(app, user, alert_id)
    assert alert.level < Decimal("66000") and alert.id == alert_id and alert.note == "tp"
    await expect(page.get_by_label(f"Level of alert #{alert_id}")).to_have_value(f"{alert.level:f}")
    before = len(telegram.sent)
    await telegram.user_sends(user, "/alerts")
    listing = await telegram.wait_for_message(user, "Your alerts", after=before)
    assert f"#{alert_id} BTCUSDT rises to ≥ {alert.level:f}" in listing.plain
    events = [event for event, _ in await page.evaluate("window.__events")]
    assert "web_app_ready" in events and "web_app_setup_swipe_behavior" in events
    assert "web_app_trigger_haptic_feedback" in events


async def test_add_at_a_price_type_a_level_and_delete_with_confirmation(
        browser: Browser, app: AppServer, telegram: FakeTelegram) -> None:
    user = 3002
    page = await page_for(browser, app, user)
    await chart_drawn(page)
    await page.get_by_label("New alert at").fill("70000")
    await page.get_by_role("button", name="+ alert here").click()
    level = page.get_by_label("Level of alert #")
    await expect(level).to_have_value("70000")
    alert_id = int((await level.get_attribute("id") or "").removeprefix("level-"))
    assert (await stored(app, user, alert_id)).level == Decimal("70000")
    await level.fill("71000")
    await level.press("Enter")  # Enter saves: reachable without dragging or seeing the chart
    await expect(page.locator("#problem")).to_contain_text("71000")
    assert (await stored(app, user, alert_id)).level == Decimal("71000")
    await page.evaluate("window.__confirm = false")
    await page.get_by_role("button", name=f"Delete alert #{alert_id}").click()
    await until(page, "window.__events.filter(e => e[0] === 'web_app_open_popup').length === 1")
    await until(page, "!window.__popupOpen")
    assert (await stored(app, user, alert_id)).state is AlertState.ACTIVE  # cancelled: nothing changed
    await page.evaluate("window.__confirm = true")
    await page.get_by_role("button", name=f"Delete alert #{alert_id}").click()
    await expect(page.get_by_label(f"Level of alert #{alert_id}")).to_have_count(0)
    assert (await stored(app, user, alert_id)).state is AlertState.DELETED


async def test_an_edit_in_chat_and_a_new_alert_show_in_the_open_app_within_the_poll(
        browser: Browser, app: AppServer, telegram: FakeTelegram) -> None:
    user = 3003
    alert_id = await create_in_chat(telegram, user, "/alert BTCUSDT 65000")
    page = await page_for(browser, app, user)
    await expect(page.get_by_label(f"Level of alert #{alert_id}")).to_have_value("65000")
    await telegram.user_sends(user, f"/edit {alert_id} 66500")
    await expect(page.get_by_label(f"Level of alert #{alert_id}")).to_have_value("66500", timeout=5_000)
    other = await create_in_chat(telegram, user, "/alert ETHUSDT 3000 every 1h")
    group = page.locator("#groups").get_by_role("button", name=f"#{other} ETHUSDT")
    await expect(group).to_contain_text("every 1h", timeout=5_000)  # a repeating alert shown for what it is
    moves = await create_in_chat(telegram, user, "/alert ETHUSDT 3% 15m")
    await expect(page.locator("#groups").get_by_role("button", name=f"#{moves} ETHUSDT")).to_contain_text(
        "moves ±3% within 15m", timeout=5_000)
    await group.click()  # opens that symbol's chart; Telegram's BackButton goes back
    await expect(page.get_by_label(f"Level of alert #{other}")).to_have_value("3000")
    events = await page.evaluate("window.__events")
    assert ["web_app_setup_back_button", '{"is_visible":true}'] in events


async def test_the_first_requests_do_not_wait_for_a_slow_telegram_script(browser: Browser, app: AppServer) -> None:
    """The session, the list and the first chart are asked by the page's inline script (allowed by
    its hash in the CSP) as the page arrives: telegram.org answering slowly does not hold them up."""
    context = await new_context(browser)
    page = await context.new_page()
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None)

    async def slow(route: Route) -> None:
        await asyncio.sleep(1.5)
        await route.continue_()

    await page.route("**/vendor/telegram-web-app.js", slow)
    await page.goto(telegram_url(app.url, init_data(app.token, 3005)))
    await chart_drawn(page)
    timings = await page.evaluate("""() => Object.fromEntries(performance.getEntriesByType('resource')
        .map(e => [e.name.replace(/^.*\\/app\\//, '').split('?')[0], [e.startTime, e.responseEnd]]))""")
    assert timings["static/vendor/telegram-web-app.js"][1] >= 1500
    for asked in ("api/session", "api/alerts", "api/chart"):
        assert timings[asked][0] < 1000, timings  # sent long before Telegram's script had arrived
    assert refused == [] and await page.evaluate("typeof window.pricealert.sent") == "object"
    await context.close()


async def test_forged_tampered_or_expired_initdata_asks_to_reopen_from_telegram(browser: Browser, app: AppServer) -> None:
    context = await new_context(browser)
    good = init_data(app.token, 3004)
    for bad in (init_data("654321:someone-elses-token", 3004), good.replace("3004", "3005"),
                init_data(app.token, 3004, auth_date=int(time.time()) - 90_000)):
        page = await open_app(context, app.url, bad)
        await expect(page.locator("#problem")).to_contain_text("opened from Telegram")
        await expect(page.locator("#app")).to_be_hidden()
        await page.close()


async def test_another_chats_alert_is_404_and_a_group_member_cannot_change(
        browser: Browser, app: AppServer, telegram: FakeTelegram) -> None:
    owner, stranger = 3006, 3007
    alert_id = await create_in_chat(telegram, owner, "/alert BTCUSDT 70000")
    page = await page_for(browser, app, stranger)
    await chart_drawn(page)
    status = await page.evaluate("""id => fetch('api/alerts/' + id, {method: 'DELETE',
        headers: {Authorization: 'tma ' + Telegram.WebApp.initData}}).then(r => r.status)""", alert_id)
    assert status == 404 and (await stored(app, owner, alert_id)).state is AlertState.ACTIVE

    group, admin, member = -100999, 3008, 3009
    telegram.group_admins[group] = {admin}
    group_alert = await create_in_chat(telegram, group, "/alert BTCUSDT 71000", user_id=admin, chat_type="supergroup")
    page = await page_for(browser, app, member, start_param=group_token(app.token, group))
    await expect(page.get_by_label(f"Level of alert #{group_alert}")).to_have_value("71000")
    await expect(page.get_by_role("button", name=f"Delete alert #{group_alert}")).to_be_disabled()
    await expect(page.get_by_role("button", name="+ alert here")).to_be_disabled()
    status = await page.evaluate("""id => fetch('api/alerts/' + id, {method: 'PATCH',
        headers: {Authorization: 'tma ' + Telegram.WebApp.initData, 'Content-Type': 'application/json'},
        body: JSON.stringify({level: '72000'})}).then(r => r.status)""", group_alert)
    assert status == 403 and (await stored(app, group, group_alert)).level == Decimal("71000")


async def test_the_phone_sized_page_fits_and_speaks_chinese(browser: Browser, app: AppServer, telegram: FakeTelegram) -> None:
    user = 3010
    await telegram.user_sends(user, "/language zh")  # the chat's choice wins over Telegram's language
    await telegram.wait_for_message(user, "中文")
    alert_id = await create_in_chat(telegram, user, "/alert BTCUSDT 66000 很长的备注" + "止盈" * 40)
    page = await page_for(browser, app, user, language="en")
    await expect(page.get_by_label(f"提醒 #{alert_id} 的价位")).to_have_value("66000")
    await expect(page.get_by_role("button", name=f"删除提醒 #{alert_id}")).to_be_visible()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    box = await page.get_by_role("button", name=f"删除提醒 #{alert_id}").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 360


async def test_the_live_candle_rolls_over_when_its_interval_ends(browser: Browser, app: AppServer) -> None:
    context = await new_context(browser)
    await context.clock.install()  # the page's clock, flowing as usual until the test moves it
    page = await open_app(context, app.url, init_data(app.token, 3007))
    await chart_drawn(page)
    await page.locator("#intervals").get_by_role("button", name="1m", exact=True).click()
    one_minute = ("(function () { var b = window.pricealert.state.series.data(); return b.length > 1 &&"
                  " b[b.length - 1].time - b[b.length - 2].time === 60; })()")
    await until(page, one_minute)
    last = await page.evaluate("window.pricealert.lastBar()")
    now = await page.evaluate("Date.now() / 1000")
    await page.clock.fast_forward(int((last["time"] + 60 - now) * 1000) + 500)  # just past the bar's end
    await until(page, f"window.pricealert.lastBar().time === {last['time'] + 60}")
    new = await page.evaluate("window.pricealert.lastBar()")
    assert new["open"] == last["close"] and new["low"] <= new["close"] <= new["high"]
    await context.close()


async def test_a_chat_not_in_allowed_chat_ids_is_told_politely_in_its_language(browser: Browser, app: AppServer) -> None:
    for user, language, words in ((3098, "en", "this bot serves only the chats its owner chose"),
                                  (3099, "zh", "此机器人只为其所有者选定的聊天服务")):
        page = await page_for(browser, app, user, language=language)
        await expect(page.locator("#problem")).to_contain_text(words)
        assert await page.locator("#app").is_hidden()
        await page.context.close()


async def test_mark_index_funding_and_liq_alerts_show_for_what_they_are_and_a_mark_level_moves_on_the_mark_price(
        browser: Browser, tmp_path: Path) -> None:
    """Issue 24 point 5 (docs/futures.md, docs/webapp.md): a bot of its own, with the mark price stream."""
    from bot.sources import PriceSource
    from bot.alerts.rules import Direction
    from tests.fakes.streams import FakeStreams

    exchange, telegram, streams = FakeExchange(), FakeTelegram(), FakeStreams(mark_interval=0.2)
    for fake in (exchange, telegram, streams):
        await fake.start()
    rest = FakeBinanceRest(prices=exchange.prices, marks=streams.marks)
    await rest.start()
    url = f"sqlite+aiosqlite:///{tmp_path / 'futures.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    user = 3201
    try:
        exchange.set_price("BTCUSDT", "69000.0")
        streams.marks.set("BTCUSDT", "71000", index="70900", rate="0.0001")
        async with serve_app(url, exchange, telegram, rest, poll_interval=0.5, binance_stream_url=streams.url,
                             mark_fallback_every=1) as server:
            ticker = server.application.bot_data["parts"].ticker
            deadline = time.monotonic() + 10
            while getattr(ticker.marks.latest("BTCUSDT"), "mark", None) != Decimal("71000"):
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            for command in ("/alert BTCUSDT mark 72000", "/alert BTCUSDT index below 70000", "/alert BTCUSDT 69500",
                            "/alert BTCUSDT funding above 0.05%", "/alert BTCUSDT funding 15m before",
                            "/liq BTCUSDT long 61234"):
                await create_in_chat(telegram, user, command)
            page = await page_for(browser, server, user)
            await chart_drawn(page)
            await until(page, "window.pricealert.lineOf(6) !== null")
            lines = {i: await page.evaluate(f"window.pricealert.lineOf({i})") for i in range(1, 7)}
            assert lines[1]["title"].startswith("#1 M 72000") and lines[1]["lineStyle"] == 1  # dotted
            assert lines[2]["title"].startswith("#2 I 70000") and lines[2]["lineStyle"] == 1
            assert lines[3]["title"].startswith("#3 69500") and lines[3]["lineStyle"] == 0  # a last-price level: solid
            assert lines[4] is None and lines[5] is None  # a rate and a time are not price lines
            assert lines[6]["title"].startswith("#6 liq ") and lines[6]["lineStyle"] == 1
            await expect(page.locator("#chart-legend")).to_contain_text("Dotted lines: levels on the mark price (M)")
            def item(alert_id: int):  # type: ignore[no-untyped-def]
                return page.locator(f"#symbol-alerts li[data-alert='{alert_id}']")

            await expect(item(1)).to_contain_text("mark price rises to ≥ 72000 · +1.41% from mark price 71000.00")
            await expect(item(2)).to_contain_text("index price falls to ≤ 70000 · -1.27% from index price 70900.00")
            await expect(item(4)).to_contain_text("funding rate rises to ≥ 0.05% · now 0.01%")
            await expect(item(5)).to_contain_text("funding reminder 15m before")
            await expect(item(6)).to_contain_text("liquidation warning (liquidation price 61234)")
            for alert_id in (4, 5, 6):  # no level to type into: a rate, a time, a /liq step
                await expect(page.get_by_label(f"Level of alert #{alert_id}")).to_have_count(0)
            await expect(page.locator("#groups").get_by_role("button", name="#1 BTCUSDT")).to_contain_text(
                "from mark price 71000")
            level = page.get_by_label("Level of alert #1")
            await level.fill("70500")  # below the mark price (71000), above the last price (69000)
            await level.press("Enter")
            await expect(page.locator("#problem")).to_contain_text("#1 moved to 70500")
            moved = await stored(server, user, 1)
            assert (moved.direction, moved.price_source, moved.state) == (Direction.DOWN, PriceSource.MARK, AlertState.ACTIVE)
            status = await page.evaluate("""() => fetch('api/alerts/4', {method: 'PATCH',
                headers: {Authorization: 'tma ' + Telegram.WebApp.initData, 'Content-Type': 'application/json'},
                body: JSON.stringify({level: '0.06'})}).then(r => r.status)""")
            assert status == 409 and (await stored(server, user, 4)).level == Decimal("0.05")
            await page.context.close()
    finally:
        await rest.stop()
        for fake in (streams, telegram, exchange):
            await fake.stop()
