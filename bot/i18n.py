"""Languages: English (the msgids) and Simplified Chinese, from gettext catalogs.

The catalogs are .po files under bot/locales, read with Babel when the program starts: no
compiled .mo files to keep in step. `python -m bot.i18n` lists msgids the catalog lacks.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LANGUAGES = {"en": "English", "zh": "简体中文"}
DEFAULT = "en"
LOCALES = Path(__file__).resolve().parent / "locales"


def pick_language(code: str | None) -> str:
    """Telegram's language_code ("zh-hans", "zh-CN", "en-US", …) to one we speak."""
    if code and code.lower().startswith("zh"):
        return "zh"
    return DEFAULT


@cache
def catalog(lang: str) -> dict[str, str | tuple[str, ...]]:
    path = LOCALES / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT or not path.is_file():
        return {}
    with path.open("rb") as handle:
        po = read_po(handle, locale=lang)
    entries: dict[str, str | tuple[str, ...]] = {}
    for message in po:
        if not message.id or not message.string or message.fuzzy:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        entries[key] = message.string if isinstance(message.string, str) else tuple(message.string)
    return entries


def translator(lang: str) -> tuple[Callable[[str], str], Callable[[str, str, int], str]]:
    """gettext and ngettext for one language; untranslated text falls back to English."""
    entries = catalog(lang)

    def gettext(message: str) -> str:
        found = entries.get(message)
        return found if isinstance(found, str) and found else message

    def ngettext(singular: str, plural: str, count: int) -> str:
        found = entries.get(singular)
        if isinstance(found, tuple) and found and found[0]:
            return found[0]  # Chinese has one form
        return singular if count == 1 else plural

    return gettext, ngettext


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "translate later"
    """Marks a string for the catalog where it is defined; it is translated where it is used."""
    return message
