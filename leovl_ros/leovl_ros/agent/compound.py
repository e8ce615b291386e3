"""Two questions typed as one: "where is the bed and what colour is it?" answered as "where is the bed?" then "what
colour is the bed?" in the same dialogue (the second's "it" is the object the first answer named, else the one the
first question named: ``agent.referents``, :func:`with_pronouns_resolved`).

The model answers one question; asked both at once it answered the first and dropped the second. :func:`split_compound`
finds "and" (or a comma, a semicolon, "also", "plus") followed by a question's first words ("what", "where", "how
many", "is", …) where the words before it also start like a question, so "how many lamps and chairs are there?",
"is the chair between the bed and the lamp?" or "which is bigger, the bed or the sofa?" stay whole. ROS-free,
torch-free.
"""

from __future__ import annotations

import re
from typing import Optional

from leovl_ros.sim.templates import plural

_STARTS_QUESTION = (r"(?:what|what's|whats|where|where's|wheres|which|how|when|who|is|are|does|do|did|can|could"
                    r"|tell me|show me|name|count|find)\b")
"""The first words of a question or request."""
_QUESTION = re.compile(rf"^\W*{_STARTS_QUESTION}", re.I)
_JOIN = re.compile(rf"(?:\s*[,;]\s*(?:and\s+|also\s+|plus\s+)?|\s+(?:and|also|plus)\s+|\?\s+(?:and\s+)?)"
                   rf"(?=(?:also\s+|then\s+)?{_STARTS_QUESTION})", re.I)
"""Where a second question begins: a joining word or mark right before a question's first words."""
MAX_PARTS = 4
"""At most this many questions are split from one text; a longer run of them is asked whole (each part costs a
model pass)."""
_MIN_WORDS = 3
"""Each part holds at least this many words ("where are you", "what colour is it"): "is it" alone is no question of
its own."""


_DESCRIPTION = re.compile(r"\blooks? like\b", re.I)
"""A request for a description, whose "and where is it?" is part of it (the object captions' "what does the lamp
look like and where is it?")."""


def split_compound(text: str) -> Optional[list[str]]:
    """The questions a text asks one after another (two to ``MAX_PARTS``, each ending with a question mark), or None
    for a text that asks one (or more than ``MAX_PARTS``)."""
    if not _QUESTION.match(text) or _DESCRIPTION.search(text):
        return None
    parts, start = [], 0
    for join in _JOIN.finditer(text):
        parts.append(text[start:join.start()])
        start = join.end()
    parts.append(text[start:])
    parts = [re.sub(r"^(?:also|then)\s+", "", p.strip(" ,;?"), flags=re.I) for p in parts]
    if not 2 <= len(parts) <= MAX_PARTS or any(len(p.split()) < _MIN_WORDS for p in parts):
        return None
    return [f"{p}?" for p in parts]


_PRONOUNS = re.compile(r"\b(?P<word>it|its|they|them|their)\b", re.I)
"""A later part's pronouns for the object the dialogue is about ("what colour is it?", "where are they?")."""


def with_pronouns_resolved(text: str, referent: Optional[str]) -> str:
    """``text`` with "it" / "its" as "the <referent>" / "the <referent>'s" and "they" / "them" / "their" in the
    plural ("the chairs"): a later part of a compound question said about the object the earlier part was about;
    unchanged without a referent."""
    if referent is None:
        return text
    words = {"it": f"the {referent}", "its": f"the {referent}'s", "they": f"the {plural(referent)}",
             "them": f"the {plural(referent)}", "their": f"the {plural(referent)}'"}
    return _PRONOUNS.sub(lambda m: words[m["word"].lower()], text)
