"""How pending messages go out (issue 25), the pure part: combine() never mixes topics or sounds,
a digest is one message whatever its parts' sound, and arrange() silences or holds by quiet hours."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.notify.batching import HEADER_ROOM, MAX_PARTS, combine
from bot.notify.placement import arrange, digest_text, topic_gone
from bot.storage.store import PendingMessage


def msg(id_: int, chat: int = 7, *, thread: int | None = None, silent: bool = False, held: bool = False,
        zone: str | None = None, quiet: tuple[int | None, int | None, bool] = (None, None, False),
        text: str = "x") -> PendingMessage:
    return PendingMessage(id=id_, chat_id=chat, text=text, attempts=0, thread_id=thread, silent=silent, held=held,
                          timezone=zone, quiet=quiet)


def test_messages_of_different_topics_or_sounds_are_never_combined() -> None:
    deliveries = combine([msg(1), msg(2), msg(3, thread=5), msg(4, thread=5), msg(5, silent=True), msg(6)])
    assert [d.outbox_ids for d in deliveries] == [(1, 2), (3, 4), (5,), (6,)]
    assert [d.thread_id for d in deliveries] == [None, 5, None, None]
    assert [d.silent for d in deliveries] == [False, False, True, False]


def test_a_digest_is_one_message_that_rings_unless_all_its_parts_are_silent() -> None:
    [mixed] = combine([msg(1, held=True, silent=True), msg(2, held=True)])
    assert mixed.outbox_ids == (1, 2) and mixed.held and not mixed.silent
    [quiet] = combine([msg(1, held=True, silent=True), msg(2, held=True, silent=True)])
    assert quiet.silent
    fresh = combine([msg(1, held=True), msg(2)])  # held ones are not mixed with fresh ones
    assert [d.outbox_ids for d in fresh] == [(1,), (2,)]


def test_a_digest_leaves_room_for_its_first_line() -> None:
    parts = [msg(i, held=True, text="y" * 1000) for i in range(4)]  # 4 x 1000 + separators fit 4096 ...
    assert [len(d.outbox_ids) for d in combine(parts)] == [3, 1]  # ... but not with the header's room
    assert HEADER_ROOM >= 100


def test_a_long_digest_continues_in_numbered_messages_one_digest_per_topic() -> None:
    # 30 held notifications, two topics interleaved, and a fresh one among them.
    held = [msg(i, thread=5 if i % 3 else 6, held=True, text=f"n{i}") for i in range(1, 31)]
    deliveries = combine([*held[:10], msg(99, thread=5), *held[10:]])
    topic5 = [d for d in deliveries if d.held and d.thread_id == 5]
    topic6 = [d for d in deliveries if d.held and d.thread_id == 6]
    assert [len(d.messages) for d in topic5 + topic6] == [20, 10]  # one digest each, not one per run
    assert [(d.part, d.parts) for d in topic5 + topic6] == [(1, 1), (1, 1)]
    assert digest_text(topic6[0]).startswith("🌙 During your quiet hours 10 notifications came, in order:\n\nn3\n\nn6")

    long = combine([msg(i, held=True, text=f"n{i}") for i in range(1, 31)])  # over MAX_PARTS (25)
    assert [(len(d.messages), d.part, d.parts, d.digest_size) for d in long] == [(MAX_PARTS, 1, 2, 30), (5, 2, 2, 30)]
    first, second = (digest_text(d).split("\n\n") for d in long)
    assert first[0] == "🌙 During your quiet hours 30 notifications came, in order: 1/2" and first[1] == "n1"
    assert second[0] == "🌙 During your quiet hours 30 notifications came, in order: 2/2" and second[1] == "n26"

    wide = combine([msg(i, held=True, text="y" * 1000) for i in range(1, 8)])  # over 4096 characters
    assert [(d.part, d.parts) for d in wide] == [(1, 3), (2, 3), (3, 3)]
    assert digest_text(wide[2]).startswith("🌙 During your quiet hours 7 notifications came, in order: 3/3")


NIGHT = (23 * 60, 7 * 60)


def test_arrange_by_each_chats_quiet_hours() -> None:
    night = datetime(2026, 12, 7, 23, 30)  # UTC
    pending = [
        msg(1, 1),  # no quiet hours: as it is
        msg(2, 2, quiet=(*NIGHT, False)),  # silent quiet hours: without a sound
        msg(3, 3, quiet=(*NIGHT, True)),  # digest: held until 07:00
        msg(4, 4, quiet=(*NIGHT, True), zone="Asia/Tokyo"),  # 08:30 in Tokyo: not quiet
        msg(5, 3, quiet=(*NIGHT, True)),
    ]
    due, held = arrange(pending, night)
    assert [(m.id, m.silent) for m in due] == [(1, False), (2, True), (4, False)]
    assert held == {datetime(2026, 12, 8, 7, 0): [3, 5]}
    # after the window: everything goes, sound as the alert says
    due, held = arrange([replace(m, held=m.id in (3, 5)) for m in pending], datetime(2026, 12, 8, 7, 0))
    assert [m.id for m in due] == [1, 2, 3, 4, 5] and held == {} and not any(m.silent for m in due)


def test_which_refusals_mean_the_topic_is_gone() -> None:
    assert topic_gone("Bad Request: message thread not found")
    assert topic_gone("Bad Request: TOPIC_CLOSED")
    assert topic_gone("Bad Request: TOPIC_DELETED")
    assert not topic_gone("Bad Request: chat not found")
    assert not topic_gone("Bad Request: message is too long")
