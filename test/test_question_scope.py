"""Which questions the model can be asked: its own words, and objects among its classes (``agent.question_scope``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leovl_ros.agent.question_scope import check_question_scope, known_words, other_objects_named, task_words
from leovl_ros.agent.validation import Reason
from leovl_ros.model.tokenizer import load_tokenizer

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def vocabulary():
    return known_words(load_tokenizer(ROOT / "models" / "default"))


@pytest.mark.parametrize("question, named", [
    ("When did you last see my keys?", ["keys"]),
    ("is there a fridge in the kitchen?", ["fridge"]),
    ("How many people are sitting on the couch", ["people"]),
    ("where is the toilet paper?", ["paper"]),          # "toilet" is a class, "paper" is not
    ("is there a light switch?", ["switch"]),           # "light" is a lamp, a light switch is none
    ("is the laptop on the desk or the table?", ["laptop"]),
    ("the cat and the dog: which is closer to the bed? the cats?", ["cat", "dog", "cats"]),
    ("where is the tv remote", ["remote"]),
    ("what colour is the toy box?", []),                # a word right before a class phrasing is its modifier
    ("how far is the book shelf from the door?", []),
    ("what is next to the bedside table?", []),
    ("which lamp light is brighter", []),
    ("is there a cupboard near the bookcase?", []),     # whole words only: "cupboard" is no cup
    ("is the chair man-made? turn counter-clockwise", []),  # nor inside a hyphenation
    ("where can I put my cup?", []), ("is there somewhere to throw this bottle?", []),  # the asker's, carried
    ("where did I put my keys?", ["keys"]),             # asks about the keys
])
def test_objects_outside_the_classes_are_named(question, named):
    assert other_objects_named(question) == named


def test_questions_in_no_known_word_or_about_other_objects_are_rejected_with_the_reason(vocabulary):
    for text in ("asdf qwer", "hjkl!", "???", "12345", "lorem", "wo ist der stuhl", "où est la chaise?"):
        rejection = check_question_scope(text, vocabulary)
        assert rejection is not None and rejection.reason == Reason.QUESTION_UNKNOWN_WORDS, text
    spanish = check_question_scope("¿Dónde está la silla?", vocabulary)
    assert "'dónde', 'está', 'la'" in spanish.detail and "in English" in spanish.detail  # words as typed
    rejection = check_question_scope("when did you last see my keys?", vocabulary)
    assert rejection is not None and rejection.reason == Reason.QUESTION_UNKNOWN_OBJECT
    assert "'keys'" in rejection.detail and "nightstand" in rejection.detail
    assert check_question_scope("where is the couch?", vocabulary) is None
    assert check_question_scope("what's the nightstand's colour", vocabulary) is None


def written_questions() -> list[str]:
    """Every question family (held-out ones too), word slot and 20 training scenes' texts, and every hand-written
    question the benchmarks read: what the generator and people wrote."""
    from leovl_ros.sim.shards import WORD_SLOTS, families, vocabulary_corpus

    texts = [fam.pattern for fams in families().values() for fam in fams]
    texts += [word for words in WORD_SLOTS.values() for word in words]
    texts += list(vocabulary_corpus(n_scenes=20))
    data = ROOT / "benchmarks" / "data"
    for name in ("handworded_questions.json", "real_questions.json"):
        texts += [item["question"] for item in json.loads((data / name).read_text())]
    texts += [p.replace("{ref}", "the chair") for p in json.loads((data / "handworded_last_seen.json").read_text())
              ["patterns"]]
    assert len(texts) > 2000
    return texts


def test_no_question_the_generator_or_a_person_wrote_is_out_of_scope():
    """:func:`written_questions` stay in scope with the task's words alone (any tokenizer adds to them): the check
    only rejects what the model cannot answer."""
    texts = written_questions()
    vocabulary = task_words()
    rejected = [(t, str(r)) for t in texts if t.strip() and (r := check_question_scope(t, vocabulary)) is not None]
    assert not rejected, rejected[:5]
