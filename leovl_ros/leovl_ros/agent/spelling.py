"""Typing slips in the task's words put right before a question reaches the model (ROS-free).

A typed question has slips: "how many chiars are there?", "where is the moniter?", "what colur is the lamp?". The
model knows a few hundred words; a slip is a word it never saw, and it answered as best it could ("behind" for
"where is the deks?", "lamp" for "what colur is the lamp?"). :func:`corrected_spelling` replaces such a word with
the task word (``question_scope.task_words``: question words, class phrasings, colours, numbers; the words of
``object_words.OBJECT_WORDS``; and ``question_scope.OTHER_OBJECTS``, so the scope check sees what a slip meant) one
edit away — two neighbours swapped, a letter missing or doubled, one changed —
where that is unambiguous.

A word is only taken for a slip when nothing knows it: not the model (its vocabulary), not English (a whole word
of MiniLM's 30k-word WordPiece vocabulary, shipped with the question encoder's package: "soda", "car", "bad" stay
as written), not an object outside the classes (``question_scope.OTHER_OBJECTS``: "keys" stays "keys" and is
refused). Words under three letters are never touched; among several task words one edit away, the likeliest kind
of slip wins ("deks" is "desk", not "desks"), then a class or colour word ("bde" → "bed"), and a tie between those
leaves the word as it is.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Optional

from leovl_ros.agent.object_words import OBJECT_WORDS
from leovl_ros.agent.question_scope import OTHER_OBJECTS, task_words
from leovl_ros.sim.templates import COLOUR_SPELLINGS, SYNONYMS, plural

MIN_LETTERS = 3
"""Shorter words are left as typed (too many words are one edit from a two-letter word)."""


SWAP, MISSING_OR_EXTRA, CHANGED = 0, 1, 2
"""The kinds of one edit, the likelier slip first: two neighbours swapped, a letter left out or doubled, one hit
wrong (among task words one edit away, the likeliest kind of slip wins: "wich" is "which", not "with")."""


def one_edit(a: str, b: str) -> Optional[int]:
    """The kind of the one edit that turns ``a`` into ``b`` (``SWAP``, ``MISSING_OR_EXTRA``, ``CHANGED``); None when
    they are equal or further apart."""
    if a == b or abs(len(a) - len(b)) > 1:
        return None
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
        if len(diff) == 1:
            return CHANGED
        swapped = len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        return SWAP if swapped else None
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = next((k for k, (x, y) in enumerate(zip(short, long_)) if x != y), len(short))
    return MISSING_OR_EXTRA if short[i:] == long_[i + 1:] else None


@lru_cache(maxsize=1)
def _targets() -> tuple[frozenset[str], frozenset[str]]:
    """The words a slip may be corrected to, and among them the content words (class phrasings, colours, and the
    objects outside the classes: "kyes" is "keys", refused by the scope check, not "yes")."""
    content = {w for phrasings in (*SYNONYMS.values(), *OBJECT_WORDS.values()) for p in phrasings
               for form in (p, plural(p)) for w in form.split()}
    content |= COLOUR_SPELLINGS
    content |= {w for name in OTHER_OBJECTS for form in (name, plural(name)) for w in form.split()}
    return frozenset(task_words() | content), frozenset(content)


@lru_cache(maxsize=1)
def words_not_slips() -> frozenset[str]:
    """Words that are never slips: English (MiniLM's whole WordPiece words) and objects outside the classes."""
    words = {form for name in OTHER_OBJECTS for form in (name, plural(name)) for form in form.split()}
    try:
        from leovl_ros.model.text_encoder import TextEncoderMissing, model_folder

        vocab = model_folder() / "vocab.txt"
        words |= {w for w in vocab.read_text(encoding="utf-8").split() if w.isalpha()}
    except (ImportError, OSError, TextEncoderMissing):
        pass  # without the package only the model's own words and the other objects are protected
    return frozenset(words)


APOSTROPHE_LESS: dict[str, str] = {
    "whats": "what's", "wheres": "where's", "hows": "how's", "thats": "that's", "theres": "there's", "whos": "who's",
    "whens": "when's", "isnt": "isn't", "arent": "aren't", "wasnt": "wasn't", "werent": "weren't", "dont": "don't",
    "doesnt": "doesn't", "didnt": "didn't", "cant": "can't", "couldnt": "couldn't", "wont": "won't",
    "wouldnt": "wouldn't", "havent": "haven't", "hasnt": "hasn't", "im": "i'm", "ive": "i've", "youre": "you're",
    "theyre": "they're"}
"""Contractions typed without their apostrophe, the commonest slip of all ("whats in the room?"): one edit from
other words too ("whats" is one letter from "hats", an object outside the classes), so they are put right first."""


def correction(word: str, vocabulary: frozenset[str]) -> Optional[str]:
    """The task word a lower-case ``word`` is a slip of, or None (a known word, too short, or no single one); a
    contraction typed without its apostrophe gets it back (:data:`APOSTROPHE_LESS`)."""
    if word in APOSTROPHE_LESS:
        return APOSTROPHE_LESS[word]
    targets, content = _targets()
    if len(word) < MIN_LETTERS or not word.isalpha() or word in vocabulary or word in targets \
            or word in words_not_slips():
        return None
    kinds = {t: kind for t in targets if (kind := one_edit(word, t)) is not None}
    near = [t for t, kind in kinds.items() if kind == min(kinds.values())]
    if len(near) > 1:
        near = [t for t in near if t in content]
    return near[0] if len(near) == 1 else None


def corrected_spelling(text: str, vocabulary: frozenset[str]) -> tuple[str, list[tuple[str, str]]]:
    """``text`` with every slip (:func:`correction`; ``vocabulary`` the model's known words) put right, and the
    (typed, corrected) pairs in order; the text unchanged and ``[]`` where there is none, or where no word of it is
    one the model knows ("hte" stays a question in no known word, refused, not "the")."""
    if not any(w in vocabulary for w in re.findall(r"[a-z]+", text.lower())):
        return text, []
    fixed: list[tuple[str, str]] = []

    def replace(m: re.Match[str]) -> str:
        word = m.group(0)
        right = correction(word.lower(), vocabulary)
        if right is None:
            return word
        fixed.append((word, right))
        return right

    out = re.sub(r"(?<![\w-])[A-Za-z]+(?![\w-])", replace, text)
    return (out, fixed) if fixed else (text, [])
