"""Words of the generated questions: class synonyms, colour spellings, agent-relative places, plurals, numbers.

Questions draw random synonyms ("couch" for sofa, "television" for tv) inside phrasing families
(:mod:`leovl_ros.sim.phrasing`) so a model learns the language, not one sentence; answers always use the canonical
class and colour names so EM is meaningful.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from leovl_ros.sim.scene import COLOURS

SYNONYMS: dict[str, tuple[str, ...]] = {
    "sofa": ("sofa", "couch", "settee"),
    "trash can": ("trash can", "bin", "garbage can", "wastebasket", "rubbish bin", "trash bin"),
    "tv": ("tv", "television", "tv screen", "television set", "telly"),
    "monitor": ("monitor", "computer screen", "computer monitor", "display"),
    "cabinet": ("cabinet", "cupboard", "storage cabinet"),
    "shelf": ("shelf", "bookshelf", "shelving unit", "bookcase"),
    "plant": ("plant", "potted plant", "houseplant", "pot plant"),
    "lamp": ("lamp", "light", "lamp light"),
    "pillow": ("pillow", "cushion", "throw pillow"),
    "box": ("box", "carton", "cardboard box"),
    "table": ("table",),
    "desk": ("desk", "writing desk", "work desk"),
    "chair": ("chair",),
    "bed": ("bed",),
    "toilet": ("toilet", "loo"),
    "stool": ("stool", "footstool"),
    "nightstand": ("nightstand", "bedside table", "night table", "night stand"),
    "window": ("window",),
    "door": ("door", "doorway"),
}
"""Canonical name → phrasings used in questions (the first is the canonical name itself)."""

COLOUR_WORDS: dict[str, tuple[str, ...]] = {"grey": ("grey", "gray"), "gray": ("gray", "grey"),
                                            "purple": ("purple", "violet")}
"""Colour name → spellings accepted in questions (answers keep the canonical name)."""
COLOUR_SPELLINGS: frozenset[str] = frozenset(c for name in COLOURS for c in COLOUR_WORDS.get(name, (name,)))
"""Every accepted spelling of every colour ("gray", "grey", "violet", …)."""

_IRREGULAR_PLURALS = {"shelf": "shelves", "bookshelf": "bookshelves", "shelving unit": "shelving units",
                      "telly": "tellies"}

NUMBER_WORDS: tuple[str, ...] = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
)
"""Count answers as words (LEO's normaliser maps digits 0-20 to these words anyway)."""

YES, NO = "yes", "no"

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


@lru_cache(maxsize=1)
def _class_phrases() -> list[tuple[re.Pattern[str], str]]:
    """(whole-phrase pattern, canonical class) for every synonym and its plural, longest phrase first."""
    from leovl_ros.sim.scene import COLOURS

    colours = "|".join(sorted({*COLOURS, *(w for words in COLOUR_WORDS.values() for w in words)}))
    pairs = {(form, name) for name, words in SYNONYMS.items() for word in words for form in (word, plural(word))}
    ordered = sorted(pairs, key=lambda pair: (-len(pair[0]), pair))
    # a shade word right before a colour word is an adjective there: "light blue", not a lamp; "is the pillow blue?"
    # still names a pillow
    return [(re.compile(rf"\b{re.escape(form)}\b" + (rf"(?!\s+(?:{colours})\b)" if form in SHADE_WORDS else "")),
             name) for form, name in ordered]


SHADE_WORDS = frozenset({"light", "lights"})
"""Class phrasings that are also a shade before a colour word ("light grey"): there they name no class."""


@lru_cache(maxsize=1)
def _colour_spellings() -> dict[str, str]:
    """Every accepted colour spelling (``COLOURS`` and ``COLOUR_WORDS``) → its canonical name in ``COLOURS``."""
    from leovl_ros.sim.scene import COLOURS

    spellings = {name: name for name in COLOURS}
    for words in COLOUR_WORDS.values():
        spellings.update({word: next(w for w in words if w in COLOURS) for word in words})
    return spellings


def colour_named(word: str | None) -> str | None:
    """The colour (``sim.scene.COLOURS``) a spelling names ("grey" → gray); None for another word."""
    return _colour_spellings().get(word) if word else None


@lru_cache(maxsize=64)
def _colour_then_class(name: str) -> re.Pattern[str]:
    """A colour spelling (captured) right before a phrasing of class ``name`` (synonyms, singular or plural)."""
    spellings = sorted(_colour_spellings(), key=len, reverse=True)
    forms = sorted({form for word in SYNONYMS.get(name, (name,)) for form in (word, plural(word))}, key=len,
                   reverse=True)
    return re.compile(rf"\b({'|'.join(map(re.escape, spellings))})\s+(?:{'|'.join(map(re.escape, forms))})\b")


def colour_before(text: str, name: str) -> str | None:
    """The canonical colour a text writes right before a phrasing of class ``name`` ("the violet carton" → purple
    for box, "the white storage cabinet" → white for cabinet); None when it writes none before it, or several."""
    found = {_colour_spellings()[m.group(1)] for m in _colour_then_class(name).finditer(text.lower())}
    return found.pop() if len(found) == 1 else None


def class_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, canonical class) of every class phrasing in ``text`` (``SYNONYMS``, singular or plural, matched
    lower-cased), in order of appearance; a longer phrase wins over the words inside it ("bedside table" is a
    nightstand, not a table), and a shade word right before a colour word is an adjective (``SHADE_WORDS``: "a light
    grey sofa" names no lamp)."""
    text, found = text.lower(), []
    taken = [False] * len(text)
    for pattern, name in _class_phrases():
        for m in pattern.finditer(text):
            if not any(taken[m.start():m.end()]):
                taken[m.start():m.end()] = [True] * (m.end() - m.start())
                found.append((m.start(), m.end(), name))
    return sorted(found)


def classes_named(text: str) -> list[str]:
    """Canonical names of the classes a text names (:func:`class_spans`), each once, in order of appearance."""
    return list(dict.fromkeys(name for _, _, name in class_spans(text)))


_DEFINITE = re.compile(r"\b(?:the|your|that|this)\s+(?:[a-z-]+\s+)?$")
"""A definite article (or a demonstrative), at most one word before a class phrasing ("the red sofa")."""


def named_definitely(text: str, cls: str) -> bool:
    """Whether a text names class ``cls`` as a thing that exists ("is the sofa next to the bed?", "where's that
    couch?"), not as one asked about ("is there a sofa?", "any sofas?")."""
    lower = text.lower()
    return any(name == cls and _DEFINITE.search(lower[:start]) for start, _, name in class_spans(text))
