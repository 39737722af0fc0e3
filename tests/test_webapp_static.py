"""The Mini App's vendored files are exactly the pinned ones, carry their licences, and ship as
package data (issue 23): nothing is downloaded at run or test time."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

from bot.webapp.api import FILES, STATIC

VENDOR = STATIC / "vendor"
ROOT = Path(__file__).resolve().parent.parent


def test_vendored_files_match_their_pinned_checksums() -> None:
    pinned = dict(reversed(line.split(maxsplit=1)) for line in (VENDOR / "SHA256SUMS").read_text().splitlines())
    assert set(pinned) == {p.name for p in VENDOR.iterdir() if p.name not in ("SHA256SUMS", "README.md")}
    for name, digest in pinned.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name


def test_the_licences_and_the_attribution_travel_with_the_files() -> None:
    chart = (VENDOR / "lightweight-charts.standalone.production.js").read_text()
    assert "Licensed under Apache License 2.0" in chart and "TradingView Lightweight Charts™ v5." in chart
    assert "Apache License" in (VENDOR / "LICENSE-lightweight-charts.txt").read_text()
    assert "TradingView, Inc. https://www.tradingview.com/" in (VENDOR / "NOTICE-lightweight-charts.txt").read_text()
    assert "MIT License" in (VENDOR / "LICENSE-twa-dev-sdk.txt").read_text()
    page = (STATIC / "index.html").read_text()
    assert 'href="https://www.tradingview.com/"' in page  # the link the licence asks for
    assert "attributionLogo: true" in (STATIC / "chart.js").read_text()


def test_the_page_is_one_html_a_few_scripts_one_stylesheet_without_inline_code() -> None:
    page = (STATIC / "index.html").read_text()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    # The CSP allows no inline script but boot.js, which the server inlines and names by its hash
    # (tests/test_webapp_api.py checks the served page and its policy).
    assert [body for _, body in scripts if body.strip()] == ["{{BOOT_SCRIPT}}"]
    assert all("src=" in attributes for attributes, body in scripts if not body.strip())
    assert not re.search(r"\son[a-z]+=", page)  # nor inline handlers
    own = {name for name in FILES if not name.startswith("vendor/")}
    assert own == {"api.js", "chart.js", "app.js", "app.css"}
    # Loaded in order: boot.js first in <head>, before Telegram's script and the stylesheet (its
    # requests travel while everything else loads), then api.js, the library, then the scripts
    # that draw: each uses what the ones before it defined.
    head = page[:page.index("</head>")]
    assert head.index("{{BOOT_SCRIPT}}") < head.index("{{TELEGRAM_SCRIPT}}") < head.index("static/app.css")
    loaded = re.findall(r'<script src="static/([^"]+)"', page)
    assert loaded == ["api.js", "vendor/lightweight-charts.standalone.production.js", "chart.js", "app.js"]


def test_no_file_of_the_package_is_longer_than_400_lines() -> None:
    """Issue 22's rule, the Mini App's scripts included: a file that long has more than one job."""
    long = [str(path.relative_to(ROOT)) for path in (ROOT / "bot").rglob("*")
            if path.suffix in (".py", ".js", ".css", ".html") and "vendor" not in path.parts
            and len(path.read_text(encoding="utf-8").splitlines()) > 400]
    assert long == []


def test_the_files_are_package_data() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "bot.webapp" in project["tool"]["setuptools"]["packages"]
    data = project["tool"]["setuptools"]["package-data"]["bot.webapp"]
    for name in ("static/*.html", "static/*.js", "static/*.css", "static/vendor/*"):
        assert name in data
