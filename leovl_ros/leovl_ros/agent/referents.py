""""Where is it?" after a question about the lamp: the pronoun read as the object the dialogue was about; "and the
chair?" after "what colour is the bed?": the last question asked again about another object (:func:`follow_up`).

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
from leovl_ros.sim.templates import COLOUR_SPELLINGS, class_spans, classes_named, plural

_PRONOUN = re.compile(r"\b(?:it|its|that one|this one)\b|\bthat(?=\W*$)", re.I)
"""The pronoun of a follow-up about one object ("where is it?", "how tall is that one?", "where was that?", "and its
colour?")."""


def named_classes(text: str) -> list[str]:
    """The model's classes a text names, in order."""
    return [c for c in classes_named(text) if c in CLASSES]


_THERE = re.compile(r"\b(?P<verb>take me|bring me|lead me|guide me|go|get|walk|drive|navigate|head) there\b", re.I)
"""A route to where the dialogue was ("take me there", "how do I get there?")."""


def the_referent(pronoun: str, referent: str) -> str:
    """What a pronoun becomes: "the lamp", or "the lamp's" for "its"."""
    return f"the {referent}'s" if pronoun.lower() == "its" else f"the {referent}"


def with_referent(text: str, referent: Optional[str], takes: Callable[[str], bool]) -> Optional[str]:
    """``text`` with its first pronoun replaced by "the <referent>" ("take me there": "take me to the <referent>"),
    where it names no class itself and a reader ``takes`` the result; None otherwise (no referent, no pronoun, a
    class named, or a question the model answers from the history itself)."""
    if referent is None or named_classes(text):
        return None
    if _PRONOUN.search(text):
        resolved = _PRONOUN.sub(lambda m: the_referent(m[0], referent), text, count=1)
    elif _THERE.search(text):
        resolved = _THERE.sub(lambda m: f"{m['verb']} to the {referent}", text, count=1)
    else:
        return None
    return resolved if takes(resolved) else None


_FOLLOW_UP = re.compile(r"^\W*(?:and|(?:and )?(?:what|how) about|same (?:question )?for|what of)\s+(?P<rest>.+?)\W*$",
                        re.I)
"""An elliptic follow-up: "and the chair?", "what about the lamps?", "how about the red one"."""
_ARTICLES = frozenset({"the", "a", "an", "my", "your", "this", "that"})
_COLOUR_BEFORE = re.compile(rf"\b(?:{'|'.join(sorted(COLOUR_SPELLINGS))})\s+$", re.I)
"""A colour word right before a class phrasing, which goes with its object ("the red bed")."""


def follow_up(text: str, previous: Optional[str]) -> Optional[str]:
    """The ``previous`` question asked about the object an elliptic follow-up names ("what colour is the bed?" and
    "and the chair?" → "what colour is the chair?"; "how many lamps are there?" and "what about pillows?" → "how many
    pillows are there?", the plural kept), where the follow-up is one class phrase (an article and a colour
    allowed) and the previous question named one class; None otherwise."""
    found = _FOLLOW_UP.match(text)
    if found is None or previous is None:
        return None
    rest = found["rest"].lower()
    spans = class_spans(rest)
    words = re.findall(r"[a-z]+", rest[: spans[0][0]] + " " + rest[spans[0][1]:]) if len(spans) == 1 else ["?"]
    if not all(w in _ARTICLES or w in COLOUR_SPELLINGS for w in words):
        return None
    earlier = class_spans(previous)
    if len({name for _, _, name in earlier}) != 1:
        return None
    start, end, _ = earlier[0]
    colour = [w for w in words if w in COLOUR_SPELLINGS]
    asked = spans[0][2]
    said = plural(asked) if previous[start:end].lower() == plural(earlier[0][2]) else asked
    before = _COLOUR_BEFORE.sub("", previous[:start])
    return f"{before}{' '.join([*colour, said])}{previous[end:]}"


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
        self._questions: OrderedDict[str, str] = OrderedDict()
        self._max = max_sessions

    def get(self, session_id: str) -> Optional[str]:
        """The session's last object; None before one was named."""
        return self._last.get(session_id)

    def last_question(self, session_id: str) -> Optional[str]:
        """The session's last answered question, as the model was asked it (:func:`follow_up` asks it again)."""
        return self._questions.get(session_id)

    def note(self, session_id: str, question: str, answer: str) -> None:
        """Remember what an answered question was about, and the question."""
        named = named_classes(answer) or named_classes(question)
        if named:
            self._last[session_id] = named[0]
        self._questions[session_id] = question
        for kept in (self._last, self._questions):
            if session_id in kept:  # an active session, whatever it named
                kept.move_to_end(session_id)
            while len(kept) > self._max:
                kept.popitem(last=False)
