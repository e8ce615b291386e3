"""The answer as a person hears it (``agent.spoken``): a last-seen answer says when, on the clock the map's stamps
use; every other answer is said as given."""

from __future__ import annotations

import math

import pytest

from leovl_ros.agent.answering import Reply
from leovl_ros.agent.spoken import clock_words, duration_words, last_seen_sentence, spoken_answer

T0 = 1_796_607_493.25  # 2026-12-07 01:38:13.25 UTC


@pytest.mark.parametrize("seconds, words", [
    (0.2, "just now"), (2.87, "2.9 s ago"), (9.96, "10 s ago"), (42.4, "42 s ago"), (59.6, "1 min ago"),
    (252.0, "4 min 12 s ago"), (7500.0, "2 h 5 min ago"), (7230.0, "2 h ago"), (86400.0, "1 day ago"),
    (3 * 86400 + 4 * 3600, "3 days 4 h ago"),
])
def test_how_long_ago_in_words(seconds, words):
    assert duration_words(seconds) == words


def test_stamps_in_words_unix_time_as_a_utc_date_simulation_time_as_seconds():
    assert clock_words(T0) == "2026-12-07 01:38:13 UTC"
    assert clock_words(12.345) == "t = 12.3 s"


def test_the_sentence_says_ago_only_on_one_clock():
    assert last_seen_sentence("the bed", T0, T0 + 2.87) == "I last saw the bed 2.9 s ago, at 2026-12-07 01:38:13 UTC"
    assert last_seen_sentence("the trash can", 12.0, 54.0) == "I last saw the trash can 42 s ago, at t = 12.0 s"
    assert last_seen_sentence("the bed", T0, T0 - 0.3) == "I last saw the bed just now, at 2026-12-07 01:38:13 UTC"
    # a camera clock ahead of the host's, a sim-time map asked on the wall clock, no clock: the stamp alone
    for now in (T0 - 5.0, None, math.nan, 40.0):
        assert last_seen_sentence("the bed", T0, now) == "I last saw the bed at 2026-12-07 01:38:13 UTC"
    assert last_seen_sentence("the bed", 12.0, T0) == "I last saw the bed at t = 12.0 s"


def _reply(answer: str, types: tuple[str, ...] = ("last_seen",), last_seen: float | None = T0, success: bool = True
           ) -> Reply:
    return Reply(success=success, answer=answer, answer_types=list(types), last_seen=last_seen)


def test_only_a_last_seen_answer_naming_one_class_with_a_time_is_reworded():
    assert spoken_answer(_reply("bed"), T0 + 12) == "I last saw the bed 12 s ago, at 2026-12-07 01:38:13 UTC"
    assert spoken_answer(_reply("trash can", ("last_seen", "situated_direction")), T0 + 1) == (
        "I last saw the trash can 1.0 s ago, at 2026-12-07 01:38:13 UTC")
    assert spoken_answer(_reply("TV "), T0 + 1).startswith("I last saw the tv 1.0 s ago")
    kept = [_reply("bed", ("existence",)),  # "have you seen a bed?" read as another type
            _reply("there is no sofa", last_seen=None), _reply("there is no sofa"),  # absent: no object, no time
            _reply("bed", last_seen=None),  # a map without times
            _reply("bed", last_seen=math.inf),
            _reply("the lamp is on the desk"), _reply("left"), _reply("chair and bed"),  # not one bare class
            _reply("", success=False)]
    for reply in kept:
        assert spoken_answer(reply, T0 + 12) == reply.answer, reply


def test_what_was_seen_last_is_said_with_its_time():
    listed = _reply("a bed and two chairs", types=("class",))
    assert spoken_answer(listed, T0 + 3, "what did you see last?") == (
        "I last saw a bed and two chairs 3.0 s ago, at 2026-12-07 01:38:13 UTC")
    assert spoken_answer(listed, T0 + 3, "what do you see?") == "a bed and two chairs"  # the room, not the last look
    assert spoken_answer(listed, T0 + 3) == "a bed and two chairs"
