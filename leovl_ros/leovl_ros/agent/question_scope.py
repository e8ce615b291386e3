"""What the model can be asked: questions in words it was trained on, about objects it can recognise (ROS-free).

The model answers every question with one of its classes, colours or numbers, so a question in none of its words
("asdf qwer") or about an object outside its classes ("when did you last see my keys?", "is there a fridge?") got a
confident answer about something else — "nightstand", with the nightstand's time. :func:`check_question_scope`
turns those into counted rejections with a clear error that names the object and the classes the model knows.

An object is outside the classes when the question names one of ``OTHER_OBJECTS`` (household objects, fixtures,
people and pets a user may ask a robot about) outside every class phrasing (``sim.templates.class_spans``: "toilet"
in "toilet paper" is a class, "paper" is not), unless it stands right before a class phrasing, where it is a
modifier ("the glass table", "the kitchen chair"). Words that are a class in a user's mouth are not listed here
(armchair, wardrobe, flowers, computer): ``object_words`` puts the class name in their place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, Optional

from leovl_ros.agent.validation import Reason, Rejection
from leovl_ros.sim.phrasing import LEADS, WORD_SLOTS, families
from leovl_ros.sim.scene import COLOURS
from leovl_ros.sim.templates import COLOUR_WORDS, NO, NUMBER_WORDS, SITUATED_PLACES, SYNONYMS, YES, class_spans, plural

OTHER_OBJECTS: tuple[str, ...] = (
    # kitchen
    "refrigerator", "fridge", "freezer", "microwave", "oven", "stove", "cooker", "dishwasher", "sink", "kettle",
    "toaster", "coffee maker", "blender", "frying pan", "saucepan", "plate", "bowl", "cup", "mug", "wine glass",
    "bottle", "jar", "fork", "knife", "spoon", "spatula", "cutting board", "dish rack", "countertop", "kitchen counter",
    "counter", "apple", "banana", "bread",
    # things people carry or wear
    "key", "keyring", "wallet", "purse", "handbag", "bag", "backpack", "rucksack", "suitcase", "luggage", "phone",
    "smartphone", "cellphone", "mobile phone", "glasses", "sunglasses", "spectacles", "umbrella", "hat", "jacket",
    "coat", "shoe", "boot", "sock", "shirt", "clothes", "towel", "blanket", "duvet", "quilt",
    # electronics and appliances
    "laptop", "keyboard", "mouse", "remote", "remote control", "charger", "cable", "headphones", "speaker",
    "printer", "router", "tablet", "radio", "alarm clock", "clock", "fan", "heater", "radiator", "air conditioner",
    "vacuum cleaner", "washing machine", "dryer", "projector", "whiteboard", "blackboard",
    # fixtures and household items
    "bathtub", "bath", "shower", "mirror", "curtain", "blinds", "rug", "carpet", "doormat", "painting", "poster",
    "vase", "candle", "book", "magazine", "newspaper", "paper", "pen", "pencil", "notebook",
    "toy", "ball", "teddy bear", "doll", "guitar", "piano", "bicycle", "bike", "fireplace", "stairs", "staircase",
    "basket", "laundry basket", "hamper", "bucket", "broom", "mop", "ladder", "toolbox", "hammer", "toothbrush",
    "soap", "shampoo", "tissue", "hanger", "coat rack", "bench", "crib",
    "switch", "socket", "power outlet", "outlet", "plug", "bulb", "thermostat",
    "smoke detector", "doorknob",
    # people and pets
    "person", "people", "man", "men", "woman", "women", "child", "children", "kid", "dog", "puppy", "cat",
    "kitten", "bird",
)
"""Objects a user may ask about that are none of the model's classes (singular; plurals are matched too)."""

_IRREGULAR = {"mouse": "mice", "knife": "knives"}
"""Plurals ``sim.templates.plural`` does not form (plural-only words are listed as they are)."""


@lru_cache(maxsize=1)
def _other_object_pattern() -> re.Pattern[str]:
    """One alternation of every ``OTHER_OBJECTS`` form, longest first, as whole words (not inside hyphenations)."""
    forms = {form for name in OTHER_OBJECTS for form in (name, _IRREGULAR.get(name, plural(name)))}
    alternation = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternation})(?![\w-])")  # a hyphenated word is another: "man-made"


_CARRIED = re.compile(r"\b(?:(?:can|could|should|may|do) (?:i|we)|to) (?:put|place|store|throw|keep|leave|set|hang)"
                      r"(?: away| down)?(?: (?:my|the|this|that|a|an|these|those|our|some))? $")
"""An object right after a verb of putting something somewhere, which the asker means to do, is the asker's ("where
can I put my cup?", "somewhere to throw this bottle"): the question asks about the room's objects, not the cup
("where did I put my keys?" still asks about the keys)."""


def other_objects_named(text: str) -> list[str]:
    """The ``OTHER_OBJECTS`` phrasings a text names outside its class phrasings, in order, each once; one right
    before a class phrasing (spaces between) is a modifier of it and does not count, nor one the asker carries
    (:data:`_CARRIED`)."""
    lowered = text.lower()
    spans = class_spans(lowered)
    found = []
    for m in _other_object_pattern().finditer(lowered):
        if any(start < m.end() and m.start() < end for start, end, _ in spans):
            continue
        if _CARRIED.search(lowered[:m.start()]):
            continue
        after = len(lowered) - len(lowered[m.end():].lstrip(" "))
        if any(start == after for start, _, _ in spans):
            continue
        found.append(m.group(0))
    return list(dict.fromkeys(found))


@lru_cache(maxsize=1)
def task_words() -> frozenset[str]:
    """Every word of the task's language, whatever the tokenizer: the question families' patterns (held-out ones
    too), their word slots and leading words, the class phrasings (and plurals), colours, numbers, yes/no and places;
    two letters or more."""
    texts = [re.sub(r"\{[a-z_0-9]+\}", " ", fam.pattern) for fams in families().values() for fam in fams]
    texts += [*LEADS, *COLOURS, *NUMBER_WORDS, YES, NO, "help"]  # "help" asks what it can answer (room_questions)
    texts += [form for ps in SYNONYMS.values() for p in ps for form in (p, plural(p))]
    for table in (WORD_SLOTS, COLOUR_WORDS, SITUATED_PLACES):
        texts += [word for words in table.values() for word in words]
    return frozenset(w for w in re.findall(r"[a-z]+", " ".join(texts).lower()) if len(w) >= 2)  # not "I'd"'s "d"


def known_words(tokenizer: Any) -> frozenset[str]:
    """The words a model was trained on: :func:`task_words` and every word-initial entry (Ġ or ▁, two letters or
    more) of its tokenizer's vocabulary: a BPE keeps its corpus's frequent words whole; pieces inside words ("est",
    "der") do not count, so "wo ist der stuhl" is not taken for English."""
    words = {token[1:].lower() for token in tokenizer.get_vocab() if token[:1] in ("Ġ", "▁")}
    return frozenset({w for w in words if len(w) >= 2 and w.isalpha() and w.isascii()} | task_words())


def _listing(names: Iterable[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def check_question_scope(text: str, vocabulary: frozenset[str]) -> Optional[Rejection]:
    """``None`` when the question names no object outside the model's classes (:func:`other_objects_named`) and has
    at least one word of ``vocabulary`` (:func:`known_words`); a ``question_unknown_object`` or
    ``question_unknown_words`` rejection that says why otherwise."""
    others = other_objects_named(text)
    if others:
        return Rejection(Reason.QUESTION_UNKNOWN_OBJECT,
                         f"the question names {_listing(others)}, which this model cannot recognise; it knows "
                         f"{', '.join(sorted(SYNONYMS))}")
    words = re.findall(r"[a-z]+", text.lower())
    if not any(w in vocabulary for w in words):
        typed = re.findall(r"[^\W\d_]+", text.lower())  # as typed: "dónde", not "d" and "nde"
        shown = _listing(typed[:6]) if typed else "none (no letters)"
        return Rejection(Reason.QUESTION_UNKNOWN_WORDS,
                         f"no word of the question is one the model knows (its words: {shown}); ask in English about "
                         f"the room's objects, e.g. 'how many chairs are there?'")
    return None
