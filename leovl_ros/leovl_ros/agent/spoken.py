"""The answer as a person hears it: on the ``~/answer`` topic and in the Rviz text, a "when did you last see the
X?" answer says when ("I last saw the bed 12 s ago, at 2026-12-07 14:02:11 UTC"), and so does the list answering
"what did you see last?"; the ``Ask`` reply keeps the class the model named (or the list) in ``answer`` and the
time, read from the map, in ``last_seen``. ROS-free."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Optional

from leovl_ros.sim.scene import CLASSES
from leovl_ros.sim.templates import classes_named

if TYPE_CHECKING:
    from leovl_ros.agent.answering import Reply

EPOCH_MIN_S = 1e9
"""Stamps from this on (2001-09-09) are read as Unix time (a robot's clock or a bag's) and said as a UTC date; smaller
ones (simulation time from 0) only as seconds."""

LAST_SEEN_TYPE = "last_seen"
"""The answer type (``model.answer_types``) of "when did you last see the X?"."""

FUTURE_TOLERANCE_S = 1.0
"""A last-seen stamp up to this far after ``now`` (clock jitter between camera and host) is said as "just now";
further ahead the clocks disagree, and only the stamp is said."""


_UNITS = ((86400, "day", 3600, "h"), (3600, "h", 60, "min"), (60, "min", 1, "s"))
"""(seconds in the unit, its name, the next smaller unit's seconds and name) for :func:`duration_words`."""


def clock_words(stamp: float) -> str:
    """A sensor stamp as a person reads it: '2026-12-07 14:02:11 UTC' for Unix time, 't = 12.3 s' for simulation
    time."""
    if stamp >= EPOCH_MIN_S:
        return datetime.fromtimestamp(stamp, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"t = {stamp:.1f} s"


def duration_words(seconds: float) -> str:
    """How long ago, rounded as people say it: 'just now' (under 0.5 s), '2.9 s ago', '42 s ago', '4 min 12 s ago',
    '2 h 5 min ago', '1 day ago', '3 days 4 h ago'."""
    if seconds < 0.5:
        return "just now"
    if seconds < 9.95:
        return f"{seconds:.1f} s ago"
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole} s ago"
    size, unit, small, smaller = next(u for u in _UNITS if whole >= u[0])
    big, rest = whole // size, whole % size // small
    return f"{big} {unit}{'s' if unit == 'day' and big > 1 else ''}" + (f" {rest} {smaller}" if rest else "") + " ago"


def last_seen_sentence(thing: str, last_seen: float, now: Optional[float] = None) -> str:
    """'I last saw the bed 2.9 s ago, at 2026-12-07 01:38:13 UTC' for ``thing`` "the bed"; without the "ago" where
    ``now`` is unknown, on another clock (simulation time against Unix time) or well before the stamp."""
    when = clock_words(last_seen)
    same_clock = now is not None and math.isfinite(now) and (now >= EPOCH_MIN_S) == (last_seen >= EPOCH_MIN_S)
    if not same_clock or now < last_seen - FUTURE_TOLERANCE_S:
        return f"I last saw {thing} at {when}"
    return f"I last saw {thing} {duration_words(max(0.0, now - last_seen))}, at {when}"


def spoken_answer(reply: Reply, now: Optional[float] = None, question: str = "") -> str:
    """What a person hears for ``reply`` at sensor time ``now`` (seconds, the clock the map's stamps use): the time
    sentence for a successful answer of the last-seen type that names one class and has a time, and for the list
    that answers "what did you see last?" (``question``, as the model read it where ``reply.read_as`` says; "I last
    saw a bed and a chair 2.9 s ago, at …"), else the answer."""
    question = reply.read_as or question
    if not reply.success or reply.last_seen is None or not math.isfinite(reply.last_seen):
        return reply.answer
    if question and reply.answer.startswith(("a ", "an ")):
        from leovl_ros.model.room_questions import asks_latest  # brings torch: only for such an answer

        if asks_latest(question):
            return last_seen_sentence(reply.answer, reply.last_seen, now)
    if LAST_SEEN_TYPE not in reply.answer_types:
        return reply.answer
    named = classes_named(reply.answer)
    if len(named) != 1 or named[0] not in CLASSES or " ".join(reply.answer.lower().split()) != named[0]:
        return reply.answer  # a sentence already, "there is no X", or no class
    return last_seen_sentence(f"the {named[0]}", reply.last_seen, now)
