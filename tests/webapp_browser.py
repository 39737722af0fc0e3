"""Opening the Mini App in Debian's chromium as Telegram opens it (shared by the browser tests,
the screenshots and benchmarks/webapp.py). Nothing is downloaded: Playwright drives the system
browser (`executable_path`), and every request off the loopback host is refused."""

from __future__ import annotations

import json
import shutil
from urllib.parse import quote

from playwright.async_api import Browser, BrowserContext, Page, Playwright, Route

PHONE = {"width": 360, "height": 740}
LIGHT = {"bg_color": "#ffffff", "text_color": "#000000", "hint_color": "#707579", "link_color": "#2481cc",
         "button_color": "#2481cc", "button_text_color": "#ffffff", "secondary_bg_color": "#f1f1f4"}
DARK = {"bg_color": "#17212b", "text_color": "#f5f5f5", "hint_color": "#708499", "link_color": "#6ab3f3",
        "button_color": "#5288c1", "button_text_color": "#ffffff", "secondary_bg_color": "#232e3c"}

# Telegram's apps talk to the page through window.TelegramWebviewProxy: this one records the
# events (web_app_ready, web_app_setup_back_button…) and answers popups (showConfirm) with
# window.__confirm, as a user pressing OK or Cancel would.
WEBVIEW = """
window.__events = [];
window.__confirm = true;
window.TelegramWebviewProxy = {
  postEvent: function (type, data) {
    window.__events.push([type, data]);
    if (type === 'web_app_open_popup') {
      window.__popupOpen = true;
      setTimeout(function () {
        window.__popupOpen = false;
        window.Telegram.WebView.receiveEvent('popup_closed', {button_id: window.__confirm ? 'ok' : ''});
      }, 10);
    }
  }
};
"""


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


async def launch(playwright: Playwright) -> Browser:
    return await playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])


def telegram_url(page_url: str, init_data: str, theme: dict[str, str] = LIGHT, query: str = "") -> str:
    """The page's URL as Telegram opens it: initData and the theme in the fragment."""
    fragment = (f"tgWebAppData={quote(init_data, safe='')}&tgWebAppVersion=8.0&tgWebAppPlatform=android"
                f"&tgWebAppThemeParams={quote(json.dumps(theme), safe='')}")
    return f"{page_url}{query}#{fragment}"


async def _local_only(route: Route) -> None:
    if route.request.url.startswith(("http://127.0.0.1", "http://localhost")):
        await route.continue_()
    else:
        await route.abort()


async def new_context(browser: Browser, *, dark: bool = False) -> BrowserContext:
    context = await browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                        color_scheme="dark" if dark else "light")
    await context.add_init_script(WEBVIEW)
    await context.route("**/*", _local_only)
    return context


async def open_app(context: BrowserContext, page_url: str, init_data: str, *, theme: dict[str, str] = LIGHT,
                   query: str = "") -> Page:
    page = await context.new_page()
    await page.goto(telegram_url(page_url, init_data, theme, query))
    return page
