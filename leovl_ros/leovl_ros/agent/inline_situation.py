"""A situation typed into the question: "I'm sitting on the bed. What is on my left?" asked as the question "What is
on my left?" in the situation "I'm sitting on the bed".

The model reads a situation apart from the question (the Ask service's ``situation`` field, ``leovl-ask
--situation``); typed into one line it was read as part of the question and answered as if asked from nowhere
("bed" instead of the "cabinet" the same words get as a situation). :func:`split_situation` finds a leading
sentence or clause that places the asker ("I am standing at the chair facing the bed", "I'm sitting on the bed")
and the question after it. ROS-free, torch-free.
"""

from __future__ import annotations

import re
from typing import Optional

from leovl_ros.sim.scene import CLASSES
from leovl_ros.sim.templates import classes_named

_PLACES_ASKER = re.compile(
    r"^\s*(?:(?:imagine|suppose|say|assume) (?:that )?)?(?:i am|i'm|im|i stand|i sit|i lie|i'm now|i am now"
    r"|standing|sitting|seated|lying)\b"
    r".*\b(?:at|on|in front of|next to|near|beside|by|facing|looking (?:at|towards?|toward)|with my back to|"
    r"sitting|standing|lying)\b", re.I)
"""A clause that places the asker: "I am / I'm" (or an opening "standing" / "sitting": "Standing by the chair and facing
the bed, …") and a place or pose ("at the chair", "facing the bed")."""
_PARTICIPLE = re.compile(r"^\s*(?:standing|sitting|seated|lying)\b", re.I)
"""An opening without "I": a situation only where it names an object the map holds ("Standing by the chair, …"), not
a viewpoint at a door or window ("standing at the door, is the bed left or right of the toilet?": one question)."""
_INTO_THE_ROOM = re.compile(r"\b(?:facing|looking) into the room\b", re.I)
"""A viewpoint the model reads inside the question itself ("Standing at the door and facing into the room, is the bed
left or right of the lamp?", the training data's viewpoint questions): not split."""
_QUESTION_START = re.compile(
    r"^\s*(?:and |so |then |now )?(?:is|are|what|what's|where|where's|which|how|can|could|do|does|tell|name|count"
    r"|would|should|am|in which|from)\b", re.I)
"""The first words of the question that follows the situation."""


def split_situation(text: str) -> Optional[tuple[str, str]]:
    """(situation, question) where ``text`` opens with a clause that places the asker and goes on after a sentence
    end ("I'm on the bed. What is on my left?", "… Guide me to the sofa.") or after a comma with a question's first
    words ("I am at the chair facing the bed, is the lamp on my left?"); None for any other text (the situation
    clause alone, nothing after it)."""
    for boundary in re.finditer(r"[.;!?]\s+|,\s*", text):
        situation, question = text[:boundary.start()].strip(), text[boundary.end():].strip()
        sentence_end = boundary.group(0)[0] != ","  # after a comma only a question's first words start one
        if question and _PLACES_ASKER.match(situation) and not _INTO_THE_ROOM.search(situation) \
                and (not _PARTICIPLE.match(situation) or set(classes_named(situation)) & set(CLASSES)) \
                and (sentence_end or _QUESTION_START.match(question)):
            return situation, question
    return None
