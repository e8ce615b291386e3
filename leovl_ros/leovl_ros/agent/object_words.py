"""Words people use for the model's classes that no training question uses, rewritten to a trained phrasing (ROS-free).

The model's classes come with the phrasings its questions were generated with (``sim.templates.SYNONYMS``: "couch",
"bin", "bedside table"). A user says "wardrobe", "armchair", "flowers" or "computer" as well: the model never saw
those words and answered as best it could ("where is the armchair?" → "chair", "where is the closet?" → "right").
:func:`with_trained_object_words` puts the class name in their place before a question reaches the model, so the
model and the map's readers see a question they know ("where is the chair?").

A word is rewritten where it stands as a noun of its own: not inside a class phrasing ("garbage can", "computer
monitor"), not right before one, where it is a modifier ("the computer desk", "the bedside lamp"); a phrase that
holds a class word whole is rewritten as a whole ("the bedside cabinet" is a nightstand, "the office chair" a
chair). Plurals keep their number ("flowers" → "plants").

A class phrasing right before another one is a modifier of it too, as in English compounds the last noun is the
object: "the desk lamp" is a lamp, "the couch cushions" are cushions, "the TV cabinet" is a cabinet. The modifier is
left out (:func:`without_class_modifiers`): read whole, "where is the desk lamp?" named a desk and got "there is no
desk" in a room with two lamps and no desk.
"""

from __future__ import annotations

import re
from functools import lru_cache

from leovl_ros.sim.templates import class_spans, plural

OBJECT_WORDS: dict[str, tuple[str, ...]] = {
    "cabinet": ("wardrobe", "closet", "dresser", "chest of drawers", "sideboard", "armoire", "locker"),
    "chair": ("armchair", "recliner", "office chair", "desk chair", "dining chair"),
    "plant": ("flower", "flower pot", "flowerpot", "cactus", "fern", "bonsai", "succulent"),
    "monitor": ("computer", "pc"),
    "sofa": ("loveseat", "love seat", "divan"),
    "trash can": ("trashcan", "dustbin", "trash", "garbage", "waste basket", "wastepaper basket", "litter bin"),
    "nightstand": ("bedside cabinet", "bedside drawer", "bedside"),
    "stool": ("ottoman", "pouf", "pouffe", "footrest"),
    "box": ("crate", "parcel"),
    "toilet": ("wc", "lavatory", "commode"),
    "tv": ("flatscreen", "flat screen"),
    "desk": ("workstation", "writing table"),
    "lamp": ("lantern", "sconce", "lampshade"),
}
"""Class → words people use for it that are none of its trained phrasings (singular; plurals are matched too)."""


@lru_cache(maxsize=1)
def _object_word_pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    """One alternation of every ``OBJECT_WORDS`` form (longest first, whole words) and each form's replacement."""
    replacement = {}
    for cls, words in OBJECT_WORDS.items():
        for word in words:
            replacement[word] = cls
            replacement.setdefault(plural(word), plural(cls))
    alternation = "|".join(re.escape(w) for w in sorted(replacement, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternation})(?![\w-])"), replacement


def with_trained_object_words(text: str) -> tuple[str, list[tuple[str, str]]]:
    """``text`` with every word of ``OBJECT_WORDS`` that stands as a noun of its own replaced by its class name and
    every class phrasing that modifies the next one left out (:func:`without_class_modifiers`), and the (words,
    replacement) pairs in order; the text unchanged (lower-cased where rewritten) and ``[]`` otherwise."""
    lowered = text.lower()
    pattern, replacement = _object_word_pattern()
    spans = class_spans(lowered)
    pieces, rewritten, last = [], [], 0
    for m in pattern.finditer(lowered):
        inside = [(s, e) for s, e, _ in spans if s < m.end() and m.start() < e]
        if any(s < m.start() or e > m.end() for s, e in inside):
            continue  # part of a trained phrasing: "garbage can", "computer monitor"
        after = len(lowered) - len(lowered[m.end():].lstrip(" "))
        if any(s == after for s, _, _ in spans):
            continue  # a modifier of the class after it: "the computer desk"
        pieces += [lowered[last:m.start()], replacement[m.group(0)]]
        rewritten.append((m.group(0), replacement[m.group(0)]))
        last = m.end()
    if rewritten:
        text = "".join(pieces) + lowered[last:]
    text, dropped = without_class_modifiers(text)
    return text, rewritten + dropped


def without_class_modifiers(text: str) -> tuple[str, list[tuple[str, str]]]:
    """``text`` without each class phrasing that stands right before another (spaces between: "the desk lamp" → "the
    lamp"), and the (compound, head) pairs in order; the text unchanged and ``[]`` where there is none. No generated
    question or situation puts two class phrasings side by side, so the model never read one as a modifier."""
    lowered = text.lower()
    spans = class_spans(lowered)
    cut = [(start, end, next_start, next_end) for (start, end, _), (next_start, next_end, _) in zip(spans, spans[1:])
           if end < next_start and not lowered[end:next_start].strip(" ")]
    if not cut:
        return text, []
    pieces, last = [], 0
    for start, _, head_start, _ in cut:
        pieces.append(lowered[last:start])
        last = head_start
    return "".join(pieces) + lowered[last:], [(lowered[start:head_end], lowered[head_start:head_end])
                                              for start, _, head_start, head_end in cut]

