"""What `GET /healthz` answers: a pure judgement of the process's state, then one JSON line."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class HealthState:
    role: str  # "working" or "standby"
    database_ok: bool
    active_alerts: bool | None  # None when the database could not say
    prices_age: float | None  # seconds since the last prices; None before the first
    working_for: float  # seconds since this process became the working one (0 on a standby)
    restricted: bool = False  # Binance refuses this machine's location (HTTP 451)
    webhook_refused: bool = False  # setWebhook got BadRequest: Telegram posts no updates to anyone
    mark_prices: str = "off"  # where mark prices come from: stream, fallback, down or off (docs/futures.md)


def judge(state: HealthState, stale_after: float) -> tuple[int, str]:
    """(HTTP status, one-line JSON body): 503 when the database is unreachable, or when the
    working process watches alerts and has had no fresh prices for `stale_after` seconds, or
    Telegram refused its WEBHOOK_URL (the bot would be deaf while it looks alive)."""
    problem = None
    if not state.database_ok:
        problem = "database unreachable"
    elif state.webhook_refused:
        problem = "Telegram refused WEBHOOK_URL"
    elif state.role == "working" and state.active_alerts:
        age = state.prices_age if state.prices_age is not None else state.working_for
        if age > stale_after:
            problem = "Binance refuses this location" if state.restricted else "no fresh prices"
    body = {
        "status": problem or "ok",
        "role": state.role,
        "prices_age": None if state.prices_age is None else round(state.prices_age, 1),
        "database": state.database_ok,
        "mark_prices": state.mark_prices,
    }
    if state.restricted:
        body["restricted_location"] = True
    return (503 if problem else 200), json.dumps(body, separators=(",", ":"))
