"""Question/caption phrasings: templates per question type, class synonyms, plurals and number words.

Questions draw a random template and random synonyms ("couch" for sofa, "television" for tv) so a model learns
the language, not one sentence; answers always use the canonical class and colour names so EM is meaningful.
"""

from __future__ import annotations

import numpy as np

SYNONYMS: dict[str, tuple[str, ...]] = {
    "sofa": ("sofa", "couch"),
    "trash can": ("trash can", "bin", "garbage can", "wastebasket"),
    "tv": ("tv", "television", "tv screen"),
    "monitor": ("monitor", "computer screen", "computer monitor"),
    "cabinet": ("cabinet", "cupboard"),
    "shelf": ("shelf", "bookshelf", "shelving unit"),
    "plant": ("plant", "potted plant", "houseplant"),
    "lamp": ("lamp", "light"),
    "pillow": ("pillow", "cushion"),
    "box": ("box", "carton"),
    "table": ("table",),
    "desk": ("desk", "writing desk"),
    "chair": ("chair",),
    "bed": ("bed",),
    "toilet": ("toilet",),
    "stool": ("stool",),
    "nightstand": ("nightstand", "bedside table", "night table"),
    "window": ("window",),
    "door": ("door", "doorway"),
}
"""Canonical name → phrasings used in questions (the first is the canonical name itself)."""

COLOUR_WORDS: dict[str, tuple[str, ...]] = {"grey": ("grey", "gray"), "gray": ("gray", "grey")}
"""Colour name → spellings accepted in questions (answers keep the canonical name)."""

_IRREGULAR_PLURALS = {"shelf": "shelves", "bookshelf": "bookshelves", "shelving unit": "shelving units"}

NUMBER_WORDS: tuple[str, ...] = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
)
"""Count answers as words (LEO's normaliser maps digits 0-20 to these words anyway)."""

YES, NO = "yes", "no"

TEMPLATES: dict[str, tuple[str, ...]] = {
    "existence": (
        "Is there {a_cls} in the room?",
        "Are there any {cls_pl} here?",
        "Can you see {a_cls} in this room?",
        "Does the room have {a_cls}?",
        "Is there {a_cls}?",
    ),
    "counting": (
        "How many {cls_pl} are there?",
        "How many {cls_pl} are in the room?",
        "Count the {cls_pl} in this room.",
        "What is the number of {cls_pl} here?",
    ),
    "colour": (
        "What colour is {ref}?",
        "What color is {ref}?",
        "Which colour does {ref} have?",
        "What is the color of {ref}?",
    ),
    "class_on": (
        "What is on {ref}?",
        "What is placed on top of {ref}?",
        "What object sits on {ref}?",
        "What can be found on {ref}?",
    ),
    "class_colour": (
        "What is the {colour} object?",
        "Which object is {colour}?",
        "What is the {colour} thing in the room?",
    ),
    "class_colour_on": (
        "What is the {colour} object on {ref}?",
        "Which {colour} thing is on {ref}?",
    ),
    "class_colour_floor": (
        "What is the {colour} object standing on the floor?",
        "Which {colour} piece of furniture stands on the floor?",
    ),
    "class_largest": (
        "What is the biggest object in the room?",
        "Which object is the largest?",
    ),
    "class_smallest": (
        "What is the smallest object in the room?",
        "Which object is the smallest here?",
    ),
    "size_bigger": (
        "Which is bigger, {ref} or {ref2}?",
        "Which one is larger: {ref} or {ref2}?",
        "Is {ref} or {ref2} bigger?",
    ),
    "size_smaller": (
        "Which is smaller, {ref} or {ref2}?",
        "Which one is smaller: {ref} or {ref2}?",
    ),
    "size_tallest": (
        "What is the tallest object in the room?",
        "Which object is the tallest?",
        "What is the highest piece of furniture here?",
    ),
    "size_yes_no": (
        "Is {ref} bigger than {ref2}?",
        "Is {ref} larger than {ref2}?",
    ),
    "spatial_viewpoint": (
        "Standing at the {place} and facing into the room, is {ref} to the left or to the right of {ref2}?",
        "Seen from the {place}, is {ref} left or right of {ref2}?",
        "If you stand at the {place} looking into the room, is {ref} on the left or right of {ref2}?",
    ),
    "spatial_support": (
        "What is {ref} standing on?",
        "What is {ref} on top of?",
        "Which object is under {ref}?",
    ),
    "spatial_next_to": (
        "What is next to {ref}?",
        "Which object is right beside {ref}?",
        "What is located next to {ref}?",
    ),
    "spatial_between": (
        "What is between {ref} and {ref2}?",
        "Which object is located between {ref} and {ref2}?",
    ),
    "spatial_next_to_yes_no": (
        "Is {ref} next to {ref2}?",
        "Is {ref} right beside {ref2}?",
    ),
    "distance": (
        "How far is {ref} from {ref2}?",
        "What is the distance between {ref} and {ref2}?",
        "How many meters is {ref} away from {ref2}?",
    ),
    "nearest": (
        "What is the closest object to {ref}?",
        "Which object is nearest to {ref}?",
        "What is closest to {ref}?",
    ),
    "farthest": (
        "What is the farthest object from {ref}?",
        "Which object is furthest away from {ref}?",
        "What is farthest from {ref}?",
    ),
    "situated_side": (
        "Is {ref} on my left or on my right?",
        "Is {ref} to my left or right?",
        "Which side is {ref} on, left or right?",
    ),
    "situated_sector": (
        "Where is {ref} relative to me?",
        "In which direction is {ref} from me?",
        "Is {ref} in front of me, behind me, on my left or on my right?",
    ),
    "situated_object": (
        "What is the closest object {where}?",
        "Which object is closest {where}?",
        "What is the nearest thing {where}?",
    ),
    "situated_count": (
        "How many {cls_pl} are {where}?",
        "How many {cls_pl} can I find {where}?",
    ),
    "situation_standing": (
        "I am standing by {ref} facing {ref2}.",
        "I am standing next to {ref} and looking at {ref2}.",
        "I am near {ref}, facing {ref2}.",
    ),
    "situation_sitting": (
        "I am sitting on {ref} facing {ref2}.",
        "I am sitting on {ref}, looking towards {ref2}.",
    ),
    "planning": (
        "How do I get to {ref}?",
        "How can I reach {ref} from here?",
        "Which way should I go to get to {ref}?",
    ),
    "object_caption": (
        "Describe {ref}.",
        "Give a short description of {ref}.",
        "What does {ref} look like and where is it?",
        "Tell me about {ref}.",
    ),
    "scene_caption": (
        "Describe the room.",
        "Give a summary of this scene.",
        "What does this room look like?",
        "Describe the layout of the room.",
    ),
    "followup_colour": ("What colour is it?", "What color is it?", "And its colour?"),
    "followup_count": ("And how many of them are there?", "How many of them are there?", "How many are there?"),
    "followup_next_to": ("What is next to it?", "And what is beside it?"),
    "followup_support": ("What is it standing on?", "And what is it on top of?"),
    "opener_existence": ("Is there {a_cls} here?", "Do you see {a_cls}?"),
    "opener_class_colour": ("What is the {colour} object in the room?", "Which thing here is {colour}?"),
}
"""Template key → phrasings; slots are filled by :func:`fill`."""

SITUATED_PLACES: dict[str, tuple[str, ...]] = {
    "front": ("in front of me", "ahead of me", "straight ahead"),
    "left": ("on my left", "to my left", "at my left side"),
    "right": ("on my right", "to my right", "at my right side"),
    "behind": ("behind me", "at my back"),
}
"""Agent-relative sector → phrasings for 'where' slots."""


def choose(rng: np.random.Generator, options: tuple[str, ...] | list[str]) -> str:
    """One option drawn uniformly with ``rng``."""
    return options[int(rng.integers(len(options)))]


def synonym(name: str, rng: np.random.Generator) -> str:
    """A random phrasing of a canonical class (or place) name."""
    return choose(rng, SYNONYMS.get(name, (name,)))


def colour_word(colour: str, rng: np.random.Generator) -> str:
    """A random spelling of a colour name."""
    return choose(rng, COLOUR_WORDS.get(colour, (colour,)))


def plural(name: str) -> str:
    """English plural of a (multi-word) noun phrase: 'trash can' → 'trash cans', 'box' → 'boxes'."""
    if name in _IRREGULAR_PLURALS:
        return _IRREGULAR_PLURALS[name]
    head = name.split(" ")[-1]
    if head in _IRREGULAR_PLURALS:
        return name[: -len(head)] + _IRREGULAR_PLURALS[head]
    if head == "tv":
        return name + "s"
    if head.endswith(("s", "x", "ch", "sh")):
        return name + "es"
    return name + "s"


def with_article(phrase: str) -> str:
    """'a chair', 'an orange box'."""
    return ("an " if phrase[:1] in "aeiou" else "a ") + phrase


def count_word(n: int) -> str:
    """Number word for a count (digits beyond twenty)."""
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else str(n)


def metres(value: float) -> str:
    """Distance answer text: '1.5 meters'."""
    return f"{value:.1f} meters"


def fill(key: str, rng: np.random.Generator, **slots: str) -> str:
    """Draw a template of ``key`` and fill its slots; the first letter is capitalised."""
    text = choose(rng, TEMPLATES[key]).format(**slots)
    return text[:1].upper() + text[1:]
