"""English and Simplified Chinese: from the user's Telegram language, or chosen with /language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from bot.i18n import LOCALES, catalog, pick_language
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram

USER = 1001
TEXTS = Path(__file__).resolve().parent.parent / "bot" / "texts"  # the catalogue, one module per subject


@pytest.mark.parametrize(("code", "lang"), [("zh-hans", "zh"), ("zh-CN", "zh"), ("zh", "zh"), ("en-US", "en"),
                                            ("de", "en"), (None, "en")])
def test_telegram_language_codes_map_to_ours(code: str | None, lang: str) -> None:
    assert pick_language(code) == lang


def test_every_text_has_a_chinese_translation_with_the_same_placeholders() -> None:
    messages = [message for module in sorted(TEXTS.glob("*.py"))
                for message in extract_from_file("python", str(module), keywords={"_": None, "N_": None, "_n": (1, 2)})]
    msgids = {m[1] if isinstance(m[1], str) else m[1][0] for m in messages}
    zh = catalog("zh")
    assert msgids - zh.keys() == set()
    with (LOCALES / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        po = read_po(handle)
    for message in po:
        if not message.id:
            continue
        source = message.id if isinstance(message.id, str) else message.id[0]
        translated = message.string if isinstance(message.string, str) else message.string[0]
        assert set(re.findall(r"\{\w+\}", source)) == set(re.findall(r"\{\w+\}", translated)), source
        assert sorted(re.findall(r"</?\w+", source)) == sorted(re.findall(r"</?\w+", translated)), source


async def test_a_chinese_user_is_answered_in_chinese_and_notified_in_chinese(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    assert {c["command"] for c in telegram.commands_by_language["zh"]} == {c["command"] for c in telegram.commands}
    assert telegram.commands_by_language["zh"][0]["description"] == "价格到达目标时提醒"
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(USER, "/alert BTCUSDT 65000 止盈", language_code="zh-hans")
    assert "提醒 #1：BTCUSDT 涨到 ≥ 65000" in (await telegram.wait_for_message(USER, "✅")).plain
    exchange.set_price("BTCUSDT", "65000.00")
    fired = await telegram.wait_for_message(USER, "🔔")
    assert "BTCUSDT 涨到 65000.00（目标 65000，提醒 #1）" in fired.plain and "止盈" in fired.plain
    assert [b["text"] for b in fired.buttons()] == ["😴 静默 1 小时", "🔁 重新启用", "🗑 删除", "📈 图表"]
    await telegram.user_sends(USER, "/alert BTCUSDT lots", language_code="zh-hans")
    assert "不是价格" in (await telegram.wait_for_message(USER, "lots")).plain
    assert telegram.rejected == []


async def test_language_command_overrides_the_guess(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    await telegram.user_sends(USER, "/language", language_code="en")
    menu = await telegram.wait_for_message(USER, "Choose the language")
    assert [b["text"] for b in menu.buttons()] == ["English", "简体中文"]
    query = await telegram.press_button(menu, menu.buttons()[1]["callback_data"])
    assert "简体中文" in await telegram.wait_for_answer(query)
    await telegram.user_sends(USER, "/help", language_code="en")  # chosen beats the user's setting
    assert "交易对" in (await telegram.wait_for_message(USER, "命令")).plain
    before = len(telegram.sent)
    await telegram.user_sends(USER, "/language en", language_code="en")
    await telegram.wait_for_message(USER, "English", after=before)
    await telegram.user_sends(USER, "/help", language_code="zh")
    await telegram.wait_for_message(USER, "Commands")
