"""The futures texts (bot/texts/futures.py) exist in Chinese with the same placeholders and tags."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_file

from bot.i18n import catalog

TEXTS = Path(__file__).resolve().parent.parent / "bot" / "texts" / "futures.py"


def test_every_futures_text_has_a_chinese_translation_with_the_same_placeholders() -> None:
    messages = extract_from_file("python", str(TEXTS), keywords={"_": None, "N_": None, "_n": (1, 2)})
    msgids = {m[1] if isinstance(m[1], str) else m[1][0] for m in messages}
    zh = catalog("zh")
    assert msgids and msgids - zh.keys() == set()
    for source in msgids:
        translated = zh[source]
        assert isinstance(translated, str)
        assert set(re.findall(r"\{\w+\}", source)) == set(re.findall(r"\{\w+\}", translated)), source
        assert sorted(re.findall(r"</?\w+", source)) == sorted(re.findall(r"</?\w+", translated)), source


def test_a_funding_reminder_says_who_pays_and_who_receives() -> None:
    from decimal import Decimal

    from bot.texts.futures import FuturesTexts

    paid = FuturesTexts("en").funding_reminder(3, "BTCUSDT", Decimal(600), Decimal("-0.01"), "")
    assert "Per 1,000 USDT: a long receives 0.1 USDT, a short pays 0.1 USDT." in paid
    zh = FuturesTexts("zh").funding_reminder(3, "BTCUSDT", Decimal(600), Decimal("0.05"), "")
    assert "多头支付 0.5 USDT，空头收取 0.5 USDT" in zh
