""""Where is it?" after a question about the lamp: the pronoun read as the object the dialogue was about.

The model was trained on follow-ups that keep a pronoun ("what colour is it?", "what is next to it?": it reads the
history); the questions answered from the map by their words ("where is …?", "how tall is …?", "describe …",
"when did you last see …?") need the object named. :func:`with_referent` puts the session's last object in place of
the pronoun, only where such a reader then takes the question (``takes``, given by the caller). ROS-free, torch-free.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from typing import Optional

from leovl_ros.sim.scene import CLASSES
from leovl_ros.sim.templates import classes_named

_PRONOUN = re.compile(r"\b(?:it|that one|this one)\b|\bthat(?=\W*$)", re.I)
"""The pronoun of a follow-up about one object ("where is it?", "how tall is that one?", "where was that?")."""


def named_classes(text: str) -> list[str]:
    """The model's classes a text names, in order."""
    return [c for c in classes_named(text) if c in CLASSES]


_THERE = re.compile(r"\b(?P<verb>take me|bring me|lead me|guide me|go|get|walk|drive|navigate|head) there\b", re.I)
"""A route to where the dialogue was ("take me there", "how do I get there?")."""


def with_referent(text: str, referent: Optional[str], takes: Callable[[str], bool]) -> Optional[str]:
    """``text`` with its first pronoun replaced by "the <referent>" ("take me there": "take me to the <referent>"),
    where it names no class itself and a reader ``takes`` the result; None otherwise (no referent, no pronoun, a
    class named, or a question the model answers from the history itself)."""
    if referent is None or named_classes(text):
        return None
    if _PRONOUN.search(text):
        resolved = _PRONOUN.sub(f"the {referent}", text, count=1)
    elif _THERE.search(text):
        resolved = _THERE.sub(lambda m: f"{m['verb']} to the {referent}", text, count=1)
    else:
        return None
    return resolved if takes(resolved) else None


NO_REFERENT_ANSWER = "Which object do you mean? Name it, for example \"where is the chair?\""
"""The answer to "where is it?" before the dialogue named any object."""


def needs_referent(text: str, takes: Callable[[str], bool]) -> bool:
    """Whether a question would be read about an object if the dialogue had named one ("where is it?" as the first
    question of a session)."""
    return with_referent(text, CLASSES[0], takes) is not None


class Referents:
    """The last object each dialogue session was about (the first class its last answer names, else its question's),
    for the newest ``max_sessions`` sessions."""

    def __init__(self, max_sessions: int = 256) -> None:
        self._last: OrderedDict[str, str] = OrderedDict()
        self._max = max_sessions

    def get(self, session_id: str) -> Optional[str]:
        """The session's last object; None before one was named."""
        return self._last.get(session_id)

    def note(self, session_id: str, question: str, answer: str) -> None:
        """Remember what an answered question was about."""
        named = named_classes(answer) or named_classes(question)
        if named:
            self._last[session_id] = named[0]
        if session_id in self._last:  # an active session, whatever it named
            self._last.move_to_end(session_id)
        while len(self._last) > self._max:
            self._last.popitem(last=False)
