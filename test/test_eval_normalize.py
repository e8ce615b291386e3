"""Golden cases for LEO's answer normalisation (DESIGN.md §4), one or more per rule, including its quirks."""

from __future__ import annotations

import pytest

from leovl_ros.eval.normalize import clean_answer


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # lowercase, trim, collapse spaces
        ("Chair", "chair"),
        ("  Brown   Wooden  ", "brown wooden"),
        ("", ""),
        # characters outside letters/digits/comma/apostrophe/whitespace/hyphen/colon are dropped
        ("Yes.", "yes"),
        ("sofa!?", "sofa"),
        ("left-hand side, 3:30", "left-hand side, three:30"),
        ("it's (maybe) a [chair]", "it's maybe chair"),
        ("café", "caf"),
        ("don’t", "dont"),
        # character removal runs after trimming, as in LEO: a trailing space can survive
        ("yes .", "yes "),
        # typo fixes (whole words only)
        ("letf", "left"),
        ("let", "left"),
        ("to the let of the bed", "to left of bed"),
        ("letter", "letter"),
        ("outlet", "outlet"),
        ("let's", "left's"),
        ("tehre", "there"),
        ("rigth", "right"),
        ("rght", "right"),
        ("behine", "behind"),
        ("chai", "chair"),
        ("chairs", "chairs"),
        ("wasing machine", "washing machine"),
        ("waslked", "walked"),
        ("oclock", "o'clock"),
        ("3 o' clock", "three o'clock"),
        ("3 o'   clock", "three o'clock"),
        # tv -> TV (not all lowercase), whole word only
        ("tv", "TV"),
        ("TV stand", "TV stand"),
        ("the tv stand", "TV stand"),
        ("tvs", "tvs"),
        # numbers 0-20 and 23 to words, none -> zero
        ("0", "zero"),
        ("2", "two"),
        ("20", "twenty"),
        ("21", "21"),
        ("23", "twenty-three"),
        ("none", "zero"),
        ("2 chairs", "two chairs"),
        ("2.5", "25"),
        # a word directly followed by one digit loses the digit
        ("mat2", "mat"),
        ("twenty3", "twenty"),
        ("no1", "no"),
        ("mat23", "mat23"),
        ("tv2", "tv"),
        # articles dropped only when a word follows
        ("the", "the"),
        ("a", "a"),
        ("a chair", "chair"),
        ("an apple", "apple"),
        ("The Chair", "chair"),
        ("on the left", "on left"),
        ("the 2", "two"),
        ("the the chair", "the chair"),
        ("a-frame", "a-frame"),
        # backwards -> backward
        ("backwards", "backward"),
        ("Move Backwards.", "move backward"),
    ],
)
def test_clean_answer_golden(raw: str, expected: str) -> None:
    """Each rule of LEO's clean_answer gives the documented output."""
    assert clean_answer(raw) == expected


def test_clean_answer_is_not_idempotent_on_repeated_articles() -> None:
    """Normalising twice can change the result (LEO's one-pass article rule), so callers normalise once."""
    once = clean_answer("the the chair")
    assert once == "the chair"
    assert clean_answer(once) == "chair"


def test_clean_answer_keeps_only_allowed_characters() -> None:
    """Whatever the input, the output only holds the characters the rules allow."""
    allowed = set("abcdefghijklmnopqrstuvwxyzTV0123456789,' \t\n-:")
    text = "Ünïcode ✓ and #tags, 12:30 — maybe?\ttab\nnewline"
    assert set(clean_answer(text)) <= allowed
