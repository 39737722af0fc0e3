"""The Mini App's proofs of identity (issue 23, point 3): Telegram's initData checked as Telegram
documents it, and the bot's own start token naming a group."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import parse_qsl, quote, urlencode

import pytest
from hypothesis import given, settings, strategies as st

from bot.webapp.auth import (
    MAX_AGE, START_TOKEN, Unauthorized, check_init_data, read_start_token, sign_init_data, sign_start_token,
)

TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuv"
NOW = 1_800_000_000


def fields(user_id: int = 1001, auth_date: int = NOW - 10, **extra: str) -> dict[str, str]:
    return {"query_id": "AAF", "user": json.dumps({"id": user_id, "first_name": "T", "language_code": "zh-hans"}),
            "auth_date": str(auth_date), "signature": "sig", **extra}


def test_the_documented_example_of_the_check_holds() -> None:
    """Computed by hand as the documentation describes, independent of the module's signer."""
    data = fields(start_param="abc")
    check = "\n".join(f"{k}={v}" for k, v in sorted(data.items()))
    secret = hmac.new(b"WebAppData", TOKEN.encode(), hashlib.sha256).digest()
    init = urlencode({**data, "hash": hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()})
    user = check_init_data(init, TOKEN, NOW)
    assert (user.user_id, user.language_code, user.start_param) == (1001, "zh-hans", "abc")


def _tamper(init: str, key: str, value: str) -> str:
    pairs = dict(parse_qsl(init))
    pairs[key] = value
    return urlencode(pairs)


@pytest.mark.parametrize("make, reason", [
    (lambda: "", "missing"),
    (lambda: sign_init_data(fields(), "654321:another-bots-token"), "bad signature"),  # forged
    (lambda: _tamper(sign_init_data(fields(), TOKEN), "user", json.dumps({"id": 2002})), "bad signature"),
    (lambda: _tamper(sign_init_data(fields(), TOKEN), "auth_date", str(NOW)), "bad signature"),
    (lambda: _tamper(sign_init_data(fields(), TOKEN), "hash", "0" * 64), "bad signature"),
    (lambda: urlencode({k: v for k, v in parse_qsl(sign_init_data(fields(), TOKEN)) if k != "hash"}), "bad signature"),
    (lambda: sign_init_data(fields(auth_date=NOW - MAX_AGE - 1), TOKEN), "expired"),
    (lambda: sign_init_data(fields(auth_date=NOW + 3600), TOKEN), "auth_date in the future"),
    (lambda: sign_init_data({k: v for k, v in fields().items() if k != "auth_date"}, TOKEN), "no auth_date"),
    (lambda: sign_init_data({**fields(), "user": "{}"}, TOKEN), "no user"),
    (lambda: sign_init_data({**fields(), "user": json.dumps({"id": "1001"})}, TOKEN), "no user"),
    (lambda: sign_init_data(fields(), TOKEN) + "&user=" + quote(json.dumps({"id": 2002})), "a key twice"),
    (lambda: "x" * 5000, "too long"),
    (lambda: "%%%", "malformed"),
])
def test_initdata_that_must_not_be_believed_is_refused(make, reason) -> None:
    with pytest.raises(Unauthorized) as refused:
        check_init_data(make(), TOKEN, NOW)
    assert refused.value.reason == reason


def test_initdata_is_good_for_24_hours() -> None:
    assert check_init_data(sign_init_data(fields(auth_date=NOW - MAX_AGE), TOKEN), TOKEN, NOW).user_id == 1001


@settings(max_examples=60)  # each example signs and checks up to ten variants
@given(st.dictionaries(st.text(st.characters(codec="utf-8", exclude_characters="&=#"), min_size=1, max_size=12),
                       st.text(st.characters(codec="utf-8"), max_size=30), max_size=5),
       st.integers(min_value=1, max_value=2**52))
def test_any_signed_initdata_passes_and_any_change_to_it_fails(extra, user_id) -> None:
    data = {k: v for k, v in extra.items() if k not in ("hash", "user", "auth_date")}
    data.update(fields(user_id=user_id))
    init = sign_init_data(data, TOKEN)
    assert check_init_data(init, TOKEN, NOW).user_id == user_id
    for key in data:
        with pytest.raises(Unauthorized):
            check_init_data(_tamper(init, key, data[key] + "x"), TOKEN, NOW)


@given(st.text(max_size=600))
def test_arbitrary_text_is_never_believed(text) -> None:
    with pytest.raises(Unauthorized):
        check_init_data(text, TOKEN, NOW)


@pytest.mark.parametrize("chat_id", [-1001234567890, -5, 1001, 2**62])
def test_a_start_token_names_its_chat_and_fits_telegrams_startapp(chat_id) -> None:
    token = sign_start_token(chat_id, TOKEN)
    assert START_TOKEN.fullmatch(token) and len(token) <= 64
    assert read_start_token(token, TOKEN) == chat_id


@pytest.mark.parametrize("token", [
    "", "m1001234567890", "m1001234567890_", "m1001234567890_AAAAAAAAAAAAAAAAAAAAAAAAAAA",
    sign_start_token(-1001234567890, "654321:another-bots-token"),
    sign_start_token(-100123, TOKEN).replace("m100123", "m100124"),
    "m01_x", "x" * 513, "a b",
])
def test_a_start_token_the_bot_did_not_sign_is_refused(token) -> None:
    with pytest.raises(Unauthorized):
        read_start_token(token, TOKEN)


@given(st.integers(min_value=-(10**18), max_value=10**18).filter(bool), st.text(max_size=40))
def test_start_tokens_round_trip_and_no_other_text_reads_as_one(chat_id, other) -> None:
    token = sign_start_token(chat_id, TOKEN)
    assert read_start_token(token, TOKEN) == chat_id
    if other != token:
        with pytest.raises(Unauthorized):
            read_start_token(other, TOKEN)
