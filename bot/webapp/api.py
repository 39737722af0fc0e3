"""The Mini App's HTTP side: the page, its static files and a thin JSON API.

Every API request carries Telegram's initData (`Authorization: tma <initData>`), checked by
bot.webapp.auth; the user comes from it only. The chat is the user's private chat, or the group
a bot-signed start token names (from a t.me link's `startapp`, which arrives inside initData);
a group is read by its members and changed by its admins only, as in chat. Routes call the same
service functions as the handlers and return facts: exact decimals as strings, codes instead of
words (the page words them in the chat's language). Another chat's alert id gets 404.

`webapp_routes` is a function of the services it is handed, so the composition root builds it
with the rest; bot.runtime serves it beside the webhook, /healthz and /metrics.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Container, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from bot.alerts.charts import ChartService
from bot.alerts.commands import MAX_ALERT_ID, MAX_NOTE_LENGTH, AlertRequest, CommandError, parse_level, parse_symbol
from bot.alerts.editing import EditRequest, Sources, group_by_symbol
from bot.alerts.rules import needs_confirmation
from bot.alerts.requests import FarLevel, NoFunding, NoMarkPrice, NotALevelAlert, TooManyAlerts, UnknownSymbol
from bot.alerts.service import AlertService
from bot.symbols import suggest
from bot.charts.intervals import DEFAULT_INTERVAL, INTERVALS, parse_interval
from bot.charts.spec import format_price, precision_of
from bot.exchange.client import ExchangeError
from bot.sources import PriceSource
from bot.storage.models import Alert
from bot.limits import CommandLimiter, Verdict
from bot.webapp.facts import alert_facts, kind_of, plain
from bot.webapp.auth import Unauthorized, WebAppUser, check_init_data, read_start_token
from bot.webapp.members import ChatRoles
from bot.webapp.http import ApiError, Handler, Route, _json, content_policy, read_body, script_hash, secured
from bot.webapp.quiet import TickQuiet

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
MAX_IN_FLIGHT = 2  # API requests at their database work at once (benchmarks/webapp.py: ticks stay on time)
MAX_NETWORK = 4  # requests asking Telegram (getChatMember) or Binance (klines) at once
MAX_PER_USER = 4  # a user's requests in flight at once (the page opens with 3); more get 429 busy
FIRST_SYMBOL = "BTCUSDT"  # what a chat without alerts opens on
TELEGRAM_SCRIPT = "https://telegram.org/js/telegram-web-app.js"
# The page's own files and the vendored ones it loads (vendor/README.md); nothing else is served.
FILES = {
    "api.js": "application/javascript", "chart.js": "application/javascript", "app.js": "application/javascript",
    "app.css": "text/css",
    "vendor/lightweight-charts.standalone.production.js": "application/javascript",
    "vendor/telegram-web-app.js": "application/javascript",
}
T = TypeVar("T")


@dataclass(frozen=True)
class Caller:
    user: WebAppUser
    chat_id: int
    may_change: bool


ApiHandler = Callable[[web.Request, Caller, dict[str, Any]], Awaitable[web.StreamResponse]]


def _level(value: object) -> Decimal:
    if not isinstance(value, str) or len(value) > 40:
        raise ApiError(400, "bad_level")
    try:
        return parse_level(value)
    except CommandError as exc:
        raise ApiError(400, exc.reason) from None


def _note(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApiError(400, "bad_note")
    note = " ".join(value.split())
    if len(note) > MAX_NOTE_LENGTH:
        raise ApiError(400, "note_too_long", limit=MAX_NOTE_LENGTH)
    return note


def _alert_id(request: web.Request) -> int:
    raw = request.match_info.get("id", "")
    if not raw.isdigit() or not raw.isascii() or len(raw) > 10 or not 1 <= int(raw) <= MAX_ALERT_ID:
        raise ApiError(404, "not_found")
    return int(raw)


def webapp_routes(alerts: AlertService, charts: ChartService, *, bot_token: str, roles: ChatRoles,
                  limiter: CommandLimiter, poll_interval: float, allowed: Container[int] | None = None,
                  base_path: str = "/", local_sdk: bool = False, quiet: TickQuiet | None = None,
                  clock: Callable[[], float] = time.time) -> list[Route]:
    """(method, path, handler) of the page, its files and its API under `base_path` (WEBAPP_URL's path).

    `allowed` is ALLOWED_CHAT_IDS as the chat's guard sees it (the same live object, which follows
    upgraded groups); None serves every chat. Another chat gets 403 before the database is touched.
    `quiet` is the tick's announcement (bot.webapp.quiet): a request arriving during a tick, and any
    database work, starts after it (a bounded wait).
    """
    base = "/" + base_path.strip("/") + "/" if base_path.strip("/") else "/"
    script = "static/vendor/telegram-web-app.js" if local_sdk else TELEGRAM_SCRIPT
    # The first requests' script, inlined (no round trip before them), allowed by its hash alone.
    boot = (STATIC / "boot.js").read_text(encoding="utf-8")
    if "</" in boot:
        raise ValueError("static/boot.js is inlined into a <script> element: it may not contain '</'")
    policy = content_policy([script_hash(boot)])
    page = (STATIC / "index.html").read_text(encoding="utf-8").replace("{{TELEGRAM_SCRIPT}}", script).replace(
        "{{BOOT_SCRIPT}}", boot)
    files = {name: (STATIC / name).read_bytes() for name in FILES}
    # The tick shares this event loop and the database: at most MAX_IN_FLIGHT requests are at their
    # database work at once, the others wait their turn parked (not interleaved with the tick's steps).
    # Checking initData, reading the body and asking Telegram or Binance happen outside it, so a slow
    # client or a slow network holds no slot. Inside it, a request waits for the tick in progress
    # (bounded): so the requests queued at the gate do not start their work in the middle of a tick.
    gate = asyncio.Semaphore(MAX_IN_FLIGHT)
    network = asyncio.Semaphore(MAX_NETWORK)
    quiet = quiet or TickQuiet(max_wait=0.0)

    @asynccontextmanager
    async def database() -> AsyncIterator[None]:
        async with gate:
            await quiet.wait()
            yield

    async def gated(work: Awaitable[T]) -> T:
        async with database():
            return await work

    def welcome(chat_id: int) -> int:
        """ALLOWED_CHAT_IDS, as in chat: a stranger is refused before anything is stored for it."""
        if allowed is not None and chat_id not in allowed:
            log.info("mini app: refused chat %d, not in ALLOWED_CHAT_IDS", chat_id)
            raise ApiError(403, "not_allowed")
        return chat_id

    async def caller(request: web.Request) -> Caller:
        header = request.headers.get("Authorization", "")
        scheme, _, init_data = header.partition(" ")
        try:
            if scheme.lower() != "tma":
                raise Unauthorized("missing")
            user = check_init_data(init_data.strip(), bot_token, clock())
        except Unauthorized as exc:  # the reason only: initData never reaches a log line
            log.info("mini app: refused a request from %s: %s", request.remote, exc.reason)
            raise ApiError(401, "unauthorized") from None
        if user.start_param is None:
            return Caller(user, welcome(user.user_id), True)  # the user's own private chat
        try:
            chat_id = read_start_token(user.start_param, bot_token)
        except Unauthorized as exc:
            log.info("mini app: refused a start token from user %d: %s", user.user_id, exc.reason)
            raise ApiError(403, "bad_start") from None
        if chat_id > 0:  # a private chat is reached without a token, and only one's own
            if chat_id != user.user_id:
                raise ApiError(403, "bad_start")
            return Caller(user, welcome(chat_id), True)
        welcome(chat_id)
        async with network:  # Telegram's getChatMember, never inside the database gate
            role = await roles.role(chat_id, user.user_id)
        if role is None:
            raise ApiError(403, "not_a_member")
        return Caller(user, chat_id, role == "admin")

    def changing(who: Caller) -> Caller:
        """A change: by who may change the chat, counted with its commands (COMMANDS_PER_MINUTE)."""
        if not who.may_change:
            raise ApiError(403, "admins_only")
        if limiter.check(who.chat_id) is not Verdict.PASS:
            raise ApiError(429, "slow_down")
        return who

    async def prices() -> Mapping[str, Decimal]:
        try:
            return (await alerts.snapshot()).prices
        except ExchangeError as exc:
            log.warning("mini app without prices: %s", exc)
            return {}

    async def session(request: web.Request, who: Caller, body: dict[str, Any]) -> web.Response:
        async with database():
            language = await alerts.language(who.chat_id, who.user.language_code)
        return _json({
            "user_id": who.user.user_id, "chat_id": who.chat_id, "group": who.chat_id < 0,
            "may_change": who.may_change, "language": language, "intervals": list(INTERVALS),
            "default_interval": DEFAULT_INTERVAL, "poll_seconds": poll_interval,
            "max_alerts": alerts.max_alerts_per_chat,
        })

    def sources_for(live: Iterable[Alert]) -> Sources:
        """The fresh mark, index and funding figures, built only when one of these alerts watches
        one (the page polls every POLL_INTERVAL; most chats watch last prices only)."""
        return alerts.source_prices() if any(a.price_source is not PriceSource.LAST for a in live) else {}

    def grouped(live: list[Alert], now: Mapping[str, Decimal], sources: Sources) -> dict[str, Any]:
        groups = [{"symbol": symbol, "price": plain(now.get(symbol)),
                   "alerts": [alert_facts(a, now.get(symbol), sources) for a in members]}
                  for symbol, members in group_by_symbol(live, now, sources)]
        return {"groups": groups, "count": len(live), "max": alerts.max_alerts_per_chat}

    async def list_alerts(request: web.Request, who: Caller, body: dict[str, Any]) -> web.Response:
        now = await prices()
        async with database():
            live = list(await alerts.live_alerts(who.chat_id))
        return _json(grouped(live, now, sources_for(live)))

    async def symbols(request: web.Request, who: Caller, body: dict[str, Any]) -> web.Response:
        query = request.query.get("q", "")[:40]
        now = await prices()
        try:
            symbol = parse_symbol(query)
        except CommandError:
            return _json({"symbol": None, "listed": False, "suggestions": []})
        return _json({"symbol": symbol, "listed": symbol in now, "suggestions": suggest(symbol, now)})

    def _symbol(request: web.Request, now: Mapping[str, Decimal]) -> str:
        try:
            symbol = parse_symbol(request.query.get("symbol", "")[:40])
        except CommandError:
            raise ApiError(400, "bad_symbol") from None
        if now and symbol not in now:
            raise ApiError(404, "unknown_symbol", suggestions=suggest(symbol, now))
        return symbol

    async def chart(request: web.Request, who: Caller, body: dict[str, Any]) -> web.Response:
        """Without `symbol`: the chat's first, the one whose alert is closest to its price, else
        BTCUSDT (the page asks it together with the session, so the first chart needs one round
        trip, not three). One read of the chat's alerts, outside the klines' wait."""
        now = await prices()
        wanted = _symbol(request, now) if request.query.get("symbol") else None
        interval = parse_interval(request.query.get("interval", DEFAULT_INTERVAL)[:4])
        if interval is None:
            raise ApiError(400, "bad_interval", intervals=list(INTERVALS))
        live = list(await gated(alerts.live_alerts(who.chat_id)))
        sources = sources_for(live)
        groups = group_by_symbol(live, now, sources) if wanted is None else []
        symbol = wanted or (groups[0][0] if groups else FIRST_SYMBOL)
        try:
            async with network:  # Binance's klines, never inside the database gate
                bars = await charts.bars(symbol, interval)
        except ExchangeError as exc:
            log.warning("mini app chart without klines: %s", exc)
            raise ApiError(503, "exchange_unavailable") from None
        precision = precision_of([v for k in bars for v in (k.open, k.high, k.low, k.close)])
        price = now.get(symbol, bars[-1].close)
        return _json({
            "symbol": symbol, "interval": interval, "precision": precision, "price": plain(price),
            "bars": [[k.open_time // 1000, *(format_price(v, precision) for v in (k.open, k.high, k.low, k.close))]
                     for k in bars],
            "alerts": [alert_facts(a, price, sources) for a in live if a.symbol == symbol],
        })

    async def live(request: web.Request, who: Caller, body: dict[str, Any]) -> web.Response:
        """What the page polls every POLL_INTERVAL, in one request and one read of the chat's
        alerts: the symbol's last price, its alerts, and all the chat's alerts grouped."""
        now = await prices()
        symbol = _symbol(request, now)
        async with database():
            live = list(await alerts.live_alerts(who.chat_id))
        price, sources = now.get(symbol), sources_for(live)
        return _json({"symbol": symbol, "price": plain(price),
                      "alerts": [alert_facts(a, price, sources) for a in live if a.symbol == symbol],
                      **grouped(live, now, sources)})

    async def create(request: web.Request, who: Caller, body: dict[str, Any]) -> web.Response:
        changing(who)
        try:
            symbol = parse_symbol(str(body.get("symbol", ""))[:40])
        except CommandError:
            raise ApiError(400, "bad_symbol") from None
        level, note = _level(body.get("level")), _note(body.get("note"))
        now = await prices()
        current = now.get(symbol)
        if current is not None and body.get("confirm") is not True and needs_confirmation(level, current):
            raise ApiError(409, "far_level", level=plain(level), price=plain(current))
        try:
            created, snapshot = await gated(alerts.create(who.chat_id, AlertRequest(symbol, level, None, note)))
        except UnknownSymbol as exc:
            raise ApiError(404, "unknown_symbol", suggestions=exc.suggestions) from None
        except TooManyAlerts as exc:
            raise ApiError(409, "too_many_alerts", limit=exc.limit) from None
        price = snapshot.prices[symbol]
        alert = created[0]
        return _json({"alert": alert_facts(alert, price), "price": plain(price),
                      "passed": alert.state.value == "arming"}, status=201)

    async def change(request: web.Request, who: Caller, body: dict[str, Any]) -> web.Response:
        changing(who)
        alert_id = _alert_id(request)
        if "level" not in body and "note" not in body:
            raise ApiError(400, "nothing_to_change")
        note = _note(body["note"]) if "note" in body else None
        if "level" not in body:
            changed = await gated(alerts.set_note(who.chat_id, alert_id, note or ""))
            if changed is None:
                raise ApiError(404, "not_found")
            return _json({"alert": alert_facts(changed, (await prices()).get(changed.symbol), sources_for([changed])),
                          "passed": False})
        request_ = EditRequest(alert_id=alert_id, level=_level(body["level"]), direction=None, note=note)
        try:
            # a funding rate, a reminder's lead or a /liq step is not a price the page moves (/edit, /liq do)
            target = await gated(alerts.alert(who.chat_id, alert_id))
            if target is not None and kind_of(target) in ("funding", "reminder", "liq"):
                raise ApiError(409, "not_a_price_level")
            edited = await gated(alerts.edit(who.chat_id, request_, confirmed=body.get("confirm") is True))
        except FarLevel as exc:
            raise ApiError(409, "far_level", level=plain(exc.level), price=plain(exc.current)) from None
        except NotALevelAlert:
            raise ApiError(409, "move_alert") from None
        except UnknownSymbol as exc:
            raise ApiError(404, "unknown_symbol", suggestions=exc.suggestions) from None
        except (NoMarkPrice, NoFunding):  # a mark or index alert is moved only against a fresh mark price
            raise ApiError(503, "no_mark_price") from None
        if edited is None:
            raise ApiError(404, "not_found")
        # `price`: what the move was decided from (the mark price for a mark alert, as /edit in chat)
        return _json({"alert": alert_facts(edited.alert, (await prices()).get(edited.alert.symbol), sources_for([edited.alert])),
                      "price": plain(edited.current), "passed": edited.passed})

    async def remove(request: web.Request, who: Caller, body: dict[str, Any]) -> web.Response:
        changing(who)
        deleted = await gated(alerts.delete(who.chat_id, _alert_id(request)))
        if deleted is None:
            raise ApiError(404, "not_found")
        return _json({"deleted": deleted.id})

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-cache"})

    async def static(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in files:
            raise web.HTTPNotFound()
        return web.Response(body=files[name], content_type=FILES[name], headers={"Cache-Control": "max-age=3600"})

    def api(handler: ApiHandler) -> Handler:
        """Who asks (initData, ALLOWED_CHAT_IDS, the group role) and the whole body, before any gate;
        at most MAX_PER_USER requests of one user at once. A request arriving during a tick starts
        after it (bounded), so its work does not interleave with the tick's steps."""
        async def handle(request: web.Request) -> web.StreamResponse:
            await quiet.wait()
            who = await caller(request)
            with one_more(who.user.user_id):
                body = await read_body(request) if request.method in ("POST", "PATCH") else {}
                return await handler(request, who, body)
        return handle

    busy: Counter[int] = Counter()

    @contextmanager
    def one_more(user_id: int) -> Iterator[None]:
        if busy[user_id] >= MAX_PER_USER:
            raise ApiError(429, "busy")
        busy[user_id] += 1
        try:
            yield
        finally:
            busy[user_id] -= 1
            if not busy[user_id]:
                del busy[user_id]

    api_routes: list[tuple[str, str, ApiHandler]] = [
        ("GET", "api/session", session),
        ("GET", "api/alerts", list_alerts),
        ("GET", "api/symbols", symbols),
        ("GET", "api/chart", chart),
        ("GET", "api/live", live),
        ("POST", "api/alerts", create),
        ("PATCH", "api/alerts/{id}", change),
        ("DELETE", "api/alerts/{id}", remove),
    ]
    return [(method, base + path, secured(handler, policy)) for method, path, handler in (
        ("GET", "", index),
        ("GET", "static/{name:.+}", static),
    )] + [(method, base + path, secured(api(handler), policy)) for method, path, handler in api_routes]
