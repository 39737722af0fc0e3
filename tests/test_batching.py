"""Grouping the outbox into Telegram messages: fewest messages, under the limit, fair between chats."""

from __future__ import annotations

from hypothesis import given, strategies as st

from bot.notify.batching import SEPARATOR, combine, plan_rounds
from bot.storage.store import PendingMessage


def msg(id_: int, chat: int, text: str = "x") -> PendingMessage:
    return PendingMessage(id=id_, chat_id=chat, text=text, attempts=0)


def test_alerts_of_one_chat_in_one_tick_become_one_message() -> None:
    [delivery] = combine([msg(1, 7, "a"), msg(2, 7, "b"), msg(3, 7, "c")])
    assert delivery.outbox_ids == (1, 2, 3) and delivery.text == f"a{SEPARATOR}b{SEPARATOR}c"


def test_a_message_holds_at_most_25_alerts_so_their_buttons_fit() -> None:
    deliveries = combine([msg(i, 7, "a") for i in range(60)])
    assert [len(d.outbox_ids) for d in deliveries] == [25, 25, 10]


def test_messages_are_split_at_the_telegram_limit() -> None:
    texts = [msg(i, 7, "y" * 1000) for i in range(9)]
    deliveries = combine(texts, limit=4096)
    assert [len(d.outbox_ids) for d in deliveries] == [4, 4, 1]
    assert all(len(d.text) <= 4096 for d in deliveries)


def test_a_busy_chat_does_not_go_before_others() -> None:
    busy = [msg(i, 1, "z" * 3000) for i in range(1, 6)]
    quiet = [msg(10, 2), msg(11, 3)]
    rounds = plan_rounds(busy + quiet)
    assert [d.chat_id for d in rounds[0]] == [1, 2, 3]
    assert all(d.chat_id == 1 for later in rounds[1:] for d in later)


@given(st.lists(st.tuples(st.integers(1, 5), st.text(min_size=1, max_size=1500)), max_size=40))
def test_every_message_is_planned_exactly_once_in_order(items: list[tuple[int, str]]) -> None:
    pending = [msg(i, chat, text) for i, (chat, text) in enumerate(items)]
    rounds = plan_rounds(pending)
    planned = [i for round_ in rounds for d in round_ for i in d.outbox_ids]
    assert sorted(planned) == list(range(len(items)))
    for round_ in rounds:
        assert len({d.chat_id for d in round_}) == len(round_)  # one message per chat per round
        for d in round_:
            assert len(d.outbox_ids) == 1 or len(d.text.encode("utf-16-le")) // 2 <= 4096
    per_chat: dict[int, list[int]] = {}
    for round_ in rounds:
        for d in round_:
            per_chat.setdefault(d.chat_id, []).extend(d.outbox_ids)
    assert all(ids == sorted(ids) for ids in per_chat.values())
