"""The chat-side words of the Mini App (issue 23): its menu button and "Open chart" buttons.

The page's own words live in bot/webapp/static/app.js (English and Chinese), since the browser
renders them from the API's facts.
"""

from __future__ import annotations

from bot.texts import Texts


class WebAppTexts(Texts):
    def menu_button(self) -> str:
        return self._("📈 Chart")

    def open_chart_button(self) -> str:
        return self._("📈 Open chart")
