"""Answer normalisation exactly as LEO's evaluator (``clean_answer``), so EM / EM-R are comparable with the field.

The rules (DESIGN.md §4) are applied as an ordered table of regular-expression rewrites, in the same order as LEO's
``data/data_utils.py::clean_answer`` (embodied-generalist), because several rules interact:

1. lowercase; strip leading/trailing spaces; collapse runs of spaces (spaces only, not tabs/newlines);
2. drop every character outside ASCII letters, digits, comma, apostrophe, whitespace, hyphen and colon.
   This runs *after* step 1, so ``"yes ."`` becomes ``"yes "`` (trailing space kept) and ``"a . b"`` becomes
   ``"a  b"`` — LEO behaves the same; EM-R removes whitespace anyway;
3. whole-word typo fixes: letf/let→left, tehre→there, rigth/rght→right, behine→behind, chai→chair,
   wasing→washing, waslked→walked, oclock / o' clock→o'clock (word-level: ``\\b`` boundaries, so "letter",
   "outlet", "chairs" are untouched, but "let's" becomes "left's" as in LEO), and tv→"TV" (so the output is not
   all lowercase);
4. whole-word numbers 0–20 → words, 23 → twenty-three, none → zero;
5. a word directly followed by one digit loses the digit (mat2→mat, twenty3→twenty; "tv2"→"tv", lowercase,
   because the TV rule ran before the digit was removed);
6. a / an / the are dropped only when a word of letters follows after one space, each article rule in one
   non-overlapping left-to-right pass (so "the the chair" → "the chair", as in LEO);
7. backwards→backward.

Deliberate differences from LEO: none in output. LEO's ``ç→c`` and ``’→'`` rewrites run after step 2 has already
deleted those (non-ASCII) characters, so they can never fire; they are therefore not implemented. Note that the
function is not idempotent (see rule 6): normalise raw text exactly once.
"""

from __future__ import annotations

import re

_NUMBER_WORDS: tuple[str, ...] = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
)

_WORD_FIXES: tuple[tuple[str, str], ...] = (
    ("letf", "left"),
    ("let", "left"),
    ("tehre", "there"),
    ("rigth", "right"),
    ("rght", "right"),
    ("behine", "behind"),
    ("tv", "TV"),
    ("chai", "chair"),
    ("wasing", "washing"),
    ("waslked", "walked"),
    ("oclock", "o'clock"),
)


def _rules() -> list[tuple[re.Pattern[str], str]]:
    """The ordered rewrite table after lowercasing (order matters; see the module docstring)."""
    rules: list[tuple[str, str]] = [
        (r"[ ]+$", ""),
        (r"^[ ]+", ""),
        (r" {2,}", " "),
        (r"\.[ ]{2,}", ". "),
        (r"[^a-zA-Z0-9,'\s\-:]+", ""),
    ]
    rules += [(rf"\b{typo}\b", fixed) for typo, fixed in _WORD_FIXES]
    rules.append((r"\bo'[ ]+clock\b", "o'clock"))
    rules.append((r"\b0\b", "zero"))
    rules.append((r"\bnone\b", "zero"))
    rules += [(rf"\b{number}\b", word) for number, word in enumerate(_NUMBER_WORDS) if number > 0]
    rules.append((r"\b23\b", "twenty-three"))
    rules.append((r"\b([a-zA-Z]+)([0-9])\b", r"\g<1>"))
    rules += [(rf"\b{article}\b ([a-zA-Z]+)", r"\g<1>") for article in ("a", "an", "the")]
    rules.append((r"\bbackwards\b", "backward"))
    return [(re.compile(pattern), replacement) for pattern, replacement in rules]


_RULES = _rules()


def clean_answer(text: str) -> str:
    """Normalise an answer (prediction or reference) with LEO's rules, in LEO's order."""
    result = text.lower()
    for pattern, replacement in _RULES:
        result = pattern.sub(replacement, result)
    return result


ABSENT_PREFIX = "there is no"
"""How an answer says the asked class is not in the room ('there is no sofa'); a count of it is 'zero'."""


ABSENT_FORMS = (ABSENT_PREFIX, "zero", "no")
"""The answers that say the asked class is not in the room (the training data's words: "there is no <class>" to
colour, relation and last-seen questions, "zero" to counting, "no" to existence); ``reader.absent_below`` restricts
the answer to them, ``reader.absent_above`` forbids the first (the others can be right about a present class:
"how many tables are behind me?", "is the lamp on the desk?")."""


def says_absent(text: str, question_type: str | None = None) -> bool:
    """Whether an answer (raw text) says the asked class is absent: 'there is no <class>', or 'zero' to a counting
    question."""
    cleaned = clean_answer(text)
    return cleaned.startswith(ABSENT_PREFIX) or (question_type == "counting" and cleaned == "zero")


NOT_SEEN = "I have not seen"
"""How an answer says the map shows no object of a class it did not judge absent ("I have not seen a window")."""


def says_no_such_object(text: str) -> bool:
    """Whether an answer says the room holds none of the asked object ('there is no sofa', 'I have not seen a
    window'): nothing there to see from any viewpoint."""
    return says_absent(text) or text.startswith(NOT_SEEN)


def points_at_no_object(text: str) -> bool:
    """Whether an answer (raw text) is one of ``ABSENT_FORMS`` ('there is no sofa', 'zero', 'no'): it names no
    object of the room, so whatever the model attended has no time to report."""
    cleaned = clean_answer(text)
    return cleaned.startswith(ABSENT_PREFIX) or cleaned in ABSENT_FORMS
