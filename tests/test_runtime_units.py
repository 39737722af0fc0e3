"""The runtime's pure parts: health judgement, webhook settings, the SQLite work lock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from bot.runtime.health import HealthState, judge
from bot.runtime.lock import FileLock, sqlite_lock_path
from bot.settings import Settings, SettingsError, load_settings

STALE_AFTER = 60.0
TOKEN = "123456:ABC-def"


def state(**changes: object) -> HealthState:
    values: dict[str, object] = dict(role="working", database_ok=True, active_alerts=True, prices_age=1.0,
                                     working_for=300.0)
    values.update(changes)
    return HealthState(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(("changes", "status", "reason"), [
    ({}, 200, "ok"),
    ({"database_ok": False, "active_alerts": None}, 503, "database unreachable"),
    ({"prices_age": 61.0}, 503, "no fresh prices"),
    ({"prices_age": 60.0}, 200, "ok"),  # exactly STALE_AFTER is still fresh
    ({"prices_age": 61.0, "active_alerts": False}, 200, "ok"),  # nothing to watch: no prices needed
    ({"prices_age": 61.0, "role": "standby", "working_for": 0.0}, 200, "ok"),  # a standby does not tick
    ({"prices_age": None, "working_for": 61.0}, 503, "no fresh prices"),  # never had any
    ({"prices_age": None, "working_for": 5.0}, 200, "ok"),  # just took over
    ({"prices_age": 61.0, "restricted": True}, 503, "Binance refuses this location"),
    ({"role": "standby", "database_ok": False, "active_alerts": None}, 503, "database unreachable"),
])
def test_health_judgement(changes: dict[str, object], status: int, reason: str) -> None:
    got_status, body = judge(state(**changes), STALE_AFTER)
    parsed = json.loads(body)
    assert (got_status, parsed["status"]) == (status, reason)
    assert "\n" not in body and parsed["role"] == changes.get("role", "working")


@given(st.text(alphabet=st.characters(codec="ascii"), min_size=1, max_size=300))
def test_webhook_secret_is_accepted_exactly_when_telegram_would(secret: str) -> None:
    valid = len(secret) <= 256 and all(c.isascii() and (c.isalnum() or c in "_-") for c in secret)
    try:
        settings = load_settings(Settings, _env_file=None, telegram_bot_token=TOKEN, webhook_secret=secret)
    except SettingsError as exc:
        assert not valid and "WEBHOOK_SECRET" in str(exc)
    else:
        assert valid and settings.webhook_token() == secret


def test_default_webhook_secret_is_derived_from_the_token_and_valid() -> None:
    one = Settings(_env_file=None, telegram_bot_token=TOKEN).webhook_token()  # type: ignore[call-arg]
    again = Settings(_env_file=None, telegram_bot_token=TOKEN).webhook_token()  # type: ignore[call-arg]
    other = Settings(_env_file=None, telegram_bot_token=TOKEN + "x").webhook_token()  # type: ignore[call-arg]
    assert one == again != other
    assert TOKEN.split(":")[1] not in one
    assert len(one) <= 256 and one.replace("_", "").replace("-", "").isalnum()


@pytest.mark.parametrize(("name", "value"), [
    ("webhook_listen", "8080"), ("webhook_listen", "0.0.0.0:http"), ("metrics_listen", "host:70000"),
    ("webhook_url", "ftp://bot.example.com/hook"),
])
def test_malformed_webhook_and_metrics_settings_are_refused(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name.upper()):
        load_settings(Settings, _env_file=None, telegram_bot_token=TOKEN, **{name: value})


def test_metrics_are_off_and_polling_is_the_default() -> None:
    settings = Settings(_env_file=None, telegram_bot_token=TOKEN)  # type: ignore[call-arg]
    assert (settings.webhook_url, settings.webhook_listen, settings.metrics_listen) == ("", "0.0.0.0:8080", "")


async def test_only_one_file_lock_holder_at_a_time(tmp_path: Path) -> None:
    path = sqlite_lock_path(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}", ".lock")
    assert path == tmp_path / "bot.db.lock"
    first, second = FileLock(path), FileLock(path)
    assert await first.try_acquire()
    assert not await second.try_acquire()
    assert await first.still_held() and not await second.still_held()
    await first.release()
    assert await second.try_acquire()
    await second.release()
